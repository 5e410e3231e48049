//go:build race

package main

// raceEnabled makes hookdBinary build with -race too, so the binary reuses
// the packages the test build compiled instead of compiling them again.
const raceEnabled = true
