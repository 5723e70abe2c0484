package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/schema"
)

// landed pins every migration that has landed, rendered for the database
// adhouse on a single node and on a cluster named c. Migrations are
// append-only, as goose treats them: a warehouse that applied one never sees
// a later edit, so an edit (of the file, or of a partial or template
// function it renders through) fails here, and a fix ships as a new
// migration. A new migration adds its line.
var landed = map[uint32]struct{ single, cluster string }{
	1: {"3abdb8d1c60cdf1e", "f8b8f255453e0059"},
	2: {"59aa20895e55e235", "af8e075491dee264"},
	3: {"3d936375eb6a23b3", "3646fdbe9fadb42d"},
	4: {"bfbd532756f97d23", "ea0cb9a1f159180f"},
	5: {"a81fa004b65acb3f", "2d7e36f77819a422"},
	6: {"ee761e920a862183", "45dcb09c716a36dd"},
	7: {"dab2bf4fe7feec35", "5dc29edf53ee51e0"},
	8: {"e43d90d94e67aff5", "a5f1144b81ab9398"},
	9: {"2ac8a423d73bc73f", "918171a11d9a7e29"},
}

func TestMigrationsAreAppendOnly(t *testing.T) {
	single, err := schema.Migrations(schema.Target{Database: "adhouse"})
	require.NoError(t, err)
	cluster, err := schema.Migrations(schema.Target{Database: "adhouse", Cluster: "c"})
	require.NoError(t, err)
	require.Len(t, cluster, len(single))
	for i, m := range single {
		pin, ok := landed[m.Version]
		require.True(t, ok, "migration %04d_%s is new: add {%q, %q} to landed", m.Version, m.Name, m.Checksum, cluster[i].Checksum)
		require.Equal(t, pin.single, m.Checksum, "migration %04d_%s changed after it landed; ship a new migration instead", m.Version, m.Name)
		require.Equal(t, pin.cluster, cluster[i].Checksum, "migration %04d_%s (cluster) changed after it landed; ship a new migration instead", m.Version, m.Name)
	}
	require.Len(t, single, len(landed), "a landed migration was removed")
}
