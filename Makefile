# The same commands the README and .ci/run use.
.PHONY: build test lint bench fuzz run

build:
	CGO_ENABLED=0 go build -o hookd ./cmd/hookd

run:
	go run ./cmd/hookd serve

test:
	go test -race ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

fuzz:
	go test -run '^$$' -fuzz FuzzParseFilter -fuzztime 30s .
