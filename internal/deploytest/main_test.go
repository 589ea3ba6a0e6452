package deploytest

import (
	"testing"

	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }
