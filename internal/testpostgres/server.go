package testpostgres

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Superuser is the role the server trusts, with no password.
const Superuser = "postgres"

// Server is a running PostgreSQL server.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	dir  string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan error
	seq  atomic.Int64
}

// BinDir returns the newest of Debian's /usr/lib/postgresql/*/bin folders
// that holds initdb and postgres.
func BinDir() (string, error) {
	dirs, err := filepath.Glob("/usr/lib/postgresql/*/bin")
	if err != nil {
		return "", err
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no initdb and postgres under /usr/lib/postgresql/*/bin: install Debian's postgresql package (hack/install-deps.sh does)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Start initializes a data folder and starts postgres on a free port, and
// returns once it accepts connections.
func Start(ctx context.Context) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "plumb-testpostgres-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, log: &bytes.Buffer{}, done: make(chan error, 1)}
	if err := s.start(ctx, bin); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string) error {
	cred, err := unprivileged()
	if err != nil {
		return err
	}
	data, sockets := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "run")
	for _, d := range []string{data, sockets} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	if cred != nil {
		// The folder from MkdirTemp is root's, 0700: let the server's user
		// through it to the folders it owns.
		if err := os.Chmod(s.dir, 0o755); err != nil {
			return err
		}
		for _, d := range []string{data, sockets} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		return err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", sockets, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		"-c", "max_connections=200")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	return s.waitReady(ctx)
}

// unprivileged is the user initdb and postgres run as: none (the caller)
// unless the caller is root, whom PostgreSQL refuses.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user to run PostgreSQL as")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits up to a minute for the server to answer a query.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case exit := <-s.done:
			s.done <- exit
			return fmt.Errorf("postgres exited (%v) before accepting connections:\n%s", exit, s.log)
		case <-ctx.Done():
			return fmt.Errorf("postgres on port %d: not accepting connections: %w\n%s", s.Port, err, s.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DSN is the URL of database on the server, as the superuser.
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.Port, database)
}

// CreateDatabase creates an empty database with a name of its own
// (plumb_1, plumb_2, …) and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := "plumb_" + strconv.FormatInt(s.seq.Add(1), 10)
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// Stop shuts the server down (fast shutdown: sessions are ended) and
// removes its data.
func (s *Server) Stop() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err = <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			err = errors.Join(errors.New("postgres did not stop within 30s of SIGINT; killed"), <-s.done)
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 0 {
			err = nil
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}
