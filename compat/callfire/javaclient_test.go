package callfire_test

import (
	"bytes"
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/compat/callfire"
)

// javaClientEnv names a checkout of CallFire/callfire-api-client-java. No
// registry reachable here serves that client, so the test runs only where
// one is given; Debian's packages bring the JDK and the jars it needs.
const javaClientEnv = "HOOKD_CALLFIRE_JAVA_SRC"

// javaJars are the Debian lib*-java jars CallFire's Java client compiles
// and runs against (default-jdk-headless, libjackson2-{core,databind,
// annotations}-java, libhttpclient-java, libhttpcore-java,
// libhttpmime-java, libcommons-lang3-java, libcommons-logging-java,
// libcommons-codec-java, liblombok-java).
var javaJars = []string{
	"jackson-core", "jackson-databind", "jackson-annotations", "httpclient", "httpcore", "httpmime",
	"commons-lang3", "commons-logging", "commons-codec", "lombok",
}

// TestCallFireJavaClient compiles CallFire's official Java client from
// source and runs testdata/CallFireJavaClient.java with it against this API
// on loopback: CallFire's own integration test of its webhooks API, updating
// the webhook it has just read included.
func TestCallFireJavaClient(t *testing.T) {
	t.Parallel()
	src := os.Getenv(javaClientEnv)
	if src == "" {
		t.Skipf("%s is not set: give it a checkout of CallFire/callfire-api-client-java to run CallFire's Java client", javaClientEnv)
	}
	javac, err1 := exec.LookPath("javac")
	java, err2 := exec.LookPath("java")
	if err1 != nil || err2 != nil {
		t.Skip("no JDK (javac, java): apt-get install default-jdk-headless")
	}
	var cp, missing []string
	for _, j := range javaJars {
		p := filepath.Join("/usr/share/java", j+".jar")
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, j)
		}
		cp = append(cp, p)
	}
	if len(missing) > 0 {
		t.Skipf("Debian jars missing from /usr/share/java: %s (see javaJars for the packages)", strings.Join(missing, ", "))
	}
	mainDir := filepath.Join(src, "src", "main")
	if _, err := os.Stat(filepath.Join(mainDir, "java", "com", "callfire", "api", "client", "CallfireClient.java")); err != nil {
		t.Skipf("%s=%s is not a checkout of callfire-api-client-java: %v", javaClientEnv, src, err)
	}

	// Build a copy: Debian's jackson-databind declares IOException on
	// writeValueAsString, which one throws clause of the client does not.
	work := t.TempDir()
	out := filepath.Join(work, "classes")
	var sources []string
	err := filepath.WalkDir(mainDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mainDir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(work, rel)
		if !strings.HasSuffix(p, ".java") { // resources: callfire.properties
			dst = filepath.Join(out, strings.TrimPrefix(rel, "resources"+string(filepath.Separator)))
		} else {
			sources = append(sources, dst)
		}
		if strings.HasSuffix(p, "RestApiClient.java") {
			b = bytes.Replace(b, []byte("Object... params) throws JsonProcessingException {"), []byte("Object... params) throws java.io.IOException {"), 1)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the client's sources: %v", err)
	}
	driver, _ := filepath.Abs(filepath.Join("testdata", "CallFireJavaClient.java"))
	args := append([]string{"-nowarn", "-d", out, "-cp", strings.Join(cp, ":"),
		"-processorpath", filepath.Join("/usr/share/java", "lombok.jar"), driver}, sources...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, javac, args...).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, b)
	}

	f := newFixture(t, callfire.Options{})
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	run := exec.CommandContext(ctx, java, "-cp", out+":"+strings.Join(cp, ":"), "CallFireJavaClient", srv.URL+base, f.key)
	b, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("CallFire's Java client against hookd: %v\n%s", err, b)
	}
	if n := strings.Count(string(b), "\nok "); n < 25 {
		t.Errorf("the driver ran %d checks, want at least 25:\n%s", n+1, b)
	}
	t.Logf("CallFire's Java client:\n%s", b)
}
