# The same commands the README and .ci/run use.
.PHONY: build test lint bench bench-scale fuzz run

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

# Issue 16's crowd (100,000 tenants) and instances (1, 2, 3 processes)
# scenarios, on a PostgreSQL whose role may create databases:
#   make bench-scale DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
bench-scale: build
	./hookd bench --scenarios crowd,instances --database-url "$(DATABASE_URL)"

fuzz:
	go test -run '^$$' -fuzz FuzzParseFilter -fuzztime 30s .
