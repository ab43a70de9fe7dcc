package vmm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Tap is a tap network device created for one VM run.
//
// It is created non-persistent: the kernel deletes it when the last file descriptor on it is
// closed. The descriptor is handed to QEMU (-netdev tap,fd=N) and the harness closes its own
// copy, so the device disappears when QEMU exits, however QEMU or the harness end. (The
// original artifact expected a tap named qemuif to exist and never created it.)
type Tap struct {
	Name string
	File *os.File // the open tap queue; whoever holds it keeps the device alive
}

// NewTapName returns a fresh interface name: OwnTapPrefix and 4 hex digits, at most 14
// characters (below IFNAMSIZ; pids have at most 7 digits).
func NewTapName() string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return OwnTapPrefix() + hex.EncodeToString(b[:])
}

// OwnTapPrefix starts the name of every tap device this process creates ("uk<pid>-"), so
// that a check for devices left behind counts its own process's only, not those of other
// harnesses (or test packages) running at the same time.
func OwnTapPrefix() string { return fmt.Sprintf("uk%d-", os.Getpid()) }

// CreateTap creates the tap device name (which must not exist) and brings its link up.
// It needs CAP_NET_ADMIN (root).
func CreateTap(name string) (*Tap, error) {
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap name %q: longer than %d characters", name, unix.IFNAMSIZ-1)
	}
	if _, err := os.Stat("/sys/class/net/" + name); err == nil {
		return nil, fmt.Errorf("tap %s: a network interface of that name already exists; choose another name", name)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, tapError(name, "open /dev/net/tun", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	// IFF_VNET_HDR as QEMU sets it itself when it opens a tap, so virtio-net offloads
	// behave as in the original's -netdev tap,ifname=… configuration.
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, tapError(name, "TUNSETIFF", err)
	}
	t := &Tap{Name: name, File: os.NewFile(uintptr(fd), "/dev/net/tun:"+name)}
	if err := linkUp(name); err != nil {
		t.File.Close()
		return nil, err
	}
	return t, nil
}

// Exists reports whether the device is still present.
func (t *Tap) Exists() bool {
	_, err := os.Stat("/sys/class/net/" + t.Name)
	return err == nil
}

// Close closes the harness's descriptor and checks that the device is gone (no other
// process may still hold it; QEMU's copy closes when QEMU exits).
func (t *Tap) Close() error {
	if t.File != nil {
		t.File.Close()
		t.File = nil
	}
	if t.Exists() {
		return fmt.Errorf("tap %s still exists after the VM ended: another process holds it open; find it with `ls -l /proc/*/fd | grep tun` and end it", t.Name)
	}
	return nil
}

func linkUp(name string) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tap %s: socket for SIOCSIFFLAGS: %w", name, err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return tapError(name, "SIOCGIFFLAGS", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return tapError(name, "set link up", err)
	}
	return nil
}

func tapError(name, step string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("tap %s: %s: %w: creating a tap device needs root (CAP_NET_ADMIN); run as root or leave out the NIC variant", name, step, err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV):
		return fmt.Errorf("tap %s: %s: %w: the tun driver is missing; load it with `modprobe tun`", name, step, err)
	}
	return fmt.Errorf("tap %s: %s: %w", name, step, err)
}
