//go:build cgo && linux

package warehouse

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void *(*adh_query_cmdline)(int, char **);
typedef const char *(*adh_result_error)(void *);

static void *adh_dlopen(const char *path) { return dlopen(path, RTLD_NOW | RTLD_GLOBAL); }
static const char *adh_dlerror(void) { return dlerror(); }

// adh_run calls chdb_query_cmdline, which serves the listeners for as long as
// the query it is given keeps running, and returns the engine's error text.
static const char *adh_run(void *lib, int argc, char **argv) {
	adh_query_cmdline run = (adh_query_cmdline)dlsym(lib, "chdb_query_cmdline");
	adh_result_error result_error = (adh_result_error)dlsym(lib, "chdb_result_error");
	if (run == NULL || result_error == NULL) return "libchdb: chdb_query_cmdline or chdb_result_error not exported";
	void *res = run(argc, argv);
	if (res == NULL) return "libchdb: chdb_query_cmdline returned no result";
	return result_error(res);
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"
)

// RunEngine serves the engine in the current process until it is signalled. It
// is the body of the child process that [Supervise] spawns, and never returns
// without error while the engine runs: library is the path of libchdb.so and
// dir a folder prepared with config.xml and users.xml. The native listener
// is opened only when native is set.
func RunEngine(library, dir string, native bool) error {
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("warehouse engine: %w", err)
	}
	// The engine's own shutdown path is not exposed through the C API; parts are
	// written atomically on insert, so leaving at once on SIGTERM loses nothing.
	// The engine's threads are not Go threads: a SIGPIPE on one of them (a
	// client hanging up mid-reply, as after a failed login) would take Go's
	// default action and end the process. ClickHouse servers ignore it too.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		os.Exit(0)
	}()

	cpath := C.CString(library)
	defer C.free(unsafe.Pointer(cpath))
	lib := C.adh_dlopen(cpath)
	if lib == nil {
		return fmt.Errorf("warehouse engine: loading %s: %s", library, C.GoString(C.adh_dlerror()))
	}

	// argv[0] must be empty: "clickhouse" would be taken as a positional option.
	// --interactive with a terminal on stdin (see openPTY) keeps an exception
	// in a network handler from terminating the process.
	args := []string{"", "--interactive", "--progress=off", "--path=" + dir + "/data", "--query", serveQuery(native)}
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	runtime.LockOSThread()
	errText := C.adh_run(lib, C.int(len(argv)), (**C.char)(unsafe.Pointer(&argv[0])))
	if errText != nil {
		return fmt.Errorf("warehouse engine: %s", C.GoString(errText))
	}
	return fmt.Errorf("warehouse engine: stopped serving")
}

// serveQuery opens the listeners configured in config.xml and keeps them open:
// clickhouse-local serves only while a query runs, so this one never ends.
func serveQuery(native bool) string {
	q := "SYSTEM START LISTEN HTTP; "
	if native {
		q = "SYSTEM START LISTEN TCP; " + q
	}
	return q + "SELECT sleepEachRow(1) FROM system.numbers " +
		"SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0, max_execution_time = 0 FORMAT Null"
}
