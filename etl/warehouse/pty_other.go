//go:build !linux

package warehouse

import (
	"errors"
	"os"
)

func openPTY() (master, terminal *os.File, err error) {
	return nil, nil, errors.New("warehouse: pseudo-terminals are only opened on Linux")
}
