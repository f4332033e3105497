package money

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// mustParseCap is ParseCap for values the test knows to be valid.
func mustParseCap(t *testing.T, s string) Cap {
	t.Helper()
	c, err := ParseCap(s)
	require.NoError(t, err, "ParseCap(%q)", s)
	return c
}

func TestParseCap(t *testing.T) {
	t.Parallel()

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ in, want string }{
			{"0", "face value"},
			{"20", "20% over face value"},
			{"5", "5% over face value"},
			{"020", "20% over face value"},
			{"1000", "1000% over face value"},
			{"none", "no cap"},
			{"None", "no cap"},
		} {
			require.Equal(t, tt.want, mustParseCap(t, tt.in).String(), "ParseCap(%q)", tt.in)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for _, in := range []string{
			"", " ", "1001", "-1", "+20", "20%", "1.5", "20.0", " 20", "20 ", "abc", "no",
			"n\u043ene", // Cyrillic o
			"99999999999999999999", "0x10", "1e3", "٣",
		} {
			_, err := ParseCap(in)
			require.ErrorIs(t, err, ErrCap, "ParseCap(%q)", in)
		}
		require.EqualError(t, ErrCap, "want a whole percentage from 0 (at most face value) to 1000, or none (no cap)")
	})
}

func TestCapMax(t *testing.T) {
	t.Parallel()

	t.Run("Examples", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			cap  Cap
			face int64
			want int64
		}{
			{"DefaultIsTwentyPercent", Cap{}, 1000, 1200},
			{"RoundsDown", Cap{}, 1999, 2398},  // 2398.8
			{"RoundsDownOneCent", Cap{}, 1, 1}, // 1.2
			{"FiveCentsGainOne", Cap{}, 5, 6},
			{"Twenty", mustParseCap(t, "20"), 1999, 2398},
			{"FifteenRoundsDown", mustParseCap(t, "15"), 1999, 2298}, // 2298.85
			{"ThirtyThreeOfOneCent", mustParseCap(t, "33"), 1, 1},    // 1.33
			{"ThirtyThreeOfThreeCents", mustParseCap(t, "33"), 3, 3}, // 3.99
			{"ZeroIsFaceValue", mustParseCap(t, "0"), 1999, 1999},
			{"Thousand", mustParseCap(t, "1000"), 1999, 21989},
			{"FreeTicket", Cap{}, 0, 0},
			{"NegativeFaceValue", Cap{}, -1000, 0},
			{"MinInt64", mustParseCap(t, "1000"), math.MinInt64, 0},
			{"AtMaximum", mustParseCap(t, "0"), MaxPrice, MaxPrice},
			{"OverMaximumCapped", Cap{}, MaxPrice, MaxPrice},
			{"ThousandOverMaximumCapped", mustParseCap(t, "1000"), MaxPrice/10 + 1, MaxPrice},
			{"MaxInt64", mustParseCap(t, "1000"), math.MaxInt64, MaxPrice},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, ok := tt.cap.Max(tt.face)
				require.True(t, ok)
				require.Equal(t, tt.want, got, "%s: Max(%d)", tt.cap, tt.face)
			})
		}
	})

	t.Run("None", func(t *testing.T) {
		t.Parallel()
		none := mustParseCap(t, "none")
		for _, face := range []int64{0, 1999, MaxPrice, math.MaxInt64} {
			_, ok := none.Max(face)
			require.False(t, ok, "Max(%d) without a cap", face)
		}
	})

	// Every percentage, at face values up to MaxPrice and beyond, against
	// arbitrary-precision arithmetic: no overflow, no rounding up.
	t.Run("Exact", func(t *testing.T) {
		t.Parallel()
		faces := []int64{1, 3, 7, 99, 1999, 3333, 12345, MaxPrice/11 - 1, MaxPrice / 11, MaxPrice/2 + 1, MaxPrice - 1, MaxPrice}
		for percent := int64(0); percent <= MaxCapPercent; percent++ {
			c := Cap{kind: capPercent, percent: percent}
			for _, face := range faces {
				exact := new(big.Int).Mul(big.NewInt(face), big.NewInt(100+percent))
				exact.Quo(exact, big.NewInt(100)) // face and percent are positive: Quo rounds down
				want := min(exact.Int64(), MaxPrice)
				got, ok := c.Max(face)
				require.True(t, ok)
				require.Equal(t, want, got, "%s: Max(%d)", c, face)
				require.GreaterOrEqual(t, got, face, "%s: Max(%d) is under face value", c, face)
			}
		}
	})
}

func TestCapString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "20% over face value", Cap{}.String(), "the zero Cap is the default")
	require.Equal(t, "150% over face value", mustParseCap(t, "150").String())
}
