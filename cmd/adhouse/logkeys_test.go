package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// zerologField matches a zerolog field call and its key.
var zerologField = regexp.MustCompile(`\.(Str|Strs|Int|Int64|Uint64|Uint8|Float64|Bool|Dur|Time|Stringer|Interface|Any|RawJSON|Err|AnErr|Fields)\("([a-z_]+)"`)

// TestLogFieldsKeepZerologKeysUnique: no log call in the module adds a field
// named like one zerolog writes itself (level, time, message): a JSON line
// would carry the key twice, and a log shipper keeps one of them (the
// report level once hid every failed window's "error"). An "error" field
// is fine only on a line that does not also call Err.
func TestLogFieldsKeepZerologKeysUnique(t *testing.T) {
	reserved := map[string]bool{zerolog.LevelFieldName: true, zerolog.TimestampFieldName: true, zerolog.MessageFieldName: true}
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "tools" || d.Name() == "var" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range zerologField.FindAllStringSubmatch(line, -1) {
				checked++
				if reserved[m[2]] {
					t.Errorf("%s:%d: log field %q repeats zerolog's own key", path, i+1, m[2])
				}
				if m[2] == zerolog.ErrorFieldName && m[1] != "Err" && strings.Contains(line, ".Err(") {
					t.Errorf("%s:%d: an %q field beside Err", path, i+1, m[2])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d log fields found: the scan missed the code", checked)
	}
}
