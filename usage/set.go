package usage

// u64set is a set of uint64 keys below 2^64-1, by open addressing with
// linear probing over a power-of-two table holding key+1 (0 is empty).
// Its keys come from slot and value indexes the aggregator assigns, not
// from input bytes, so a fixed multiplicative hash cannot be flooded.
type u64set struct {
	keys  []uint64
	n     int
	shift uint8 // 64 - log2(len(keys))
}

func (s *u64set) pos(key uint64) uint64 {
	return (key * 0x9e3779b97f4a7c15) >> s.shift
}

// add inserts key and reports whether it was new.
func (s *u64set) add(key uint64) bool {
	if 2*(s.n+1) > len(s.keys) {
		s.grow()
	}
	mask := uint64(len(s.keys) - 1)
	for i := s.pos(key); ; i = (i + 1) & mask {
		switch s.keys[i] {
		case 0:
			s.keys[i] = key + 1
			s.n++
			return true
		case key + 1:
			return false
		}
	}
}

func (s *u64set) grow() {
	old := s.keys
	size := max(2*len(old), 64)
	s.keys, s.n, s.shift = make([]uint64, size), 0, uint8(64-log2(size))
	for _, k := range old {
		if k != 0 {
			s.add(k - 1)
		}
	}
}

// without returns a copy of s holding the keys drop rejects.
func (s *u64set) without(drop func(uint64) bool) u64set {
	var out u64set
	for _, k := range s.keys {
		if k != 0 && !drop(k-1) {
			out.add(k - 1)
		}
	}
	return out
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
