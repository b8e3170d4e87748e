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

// remove deletes key and reports whether it was there. The keys after it
// in its probe sequence move back into the hole (backward-shift deletion),
// so that no tombstone is left and every other key stays findable.
func (s *u64set) remove(key uint64) bool {
	if s.n == 0 {
		return false
	}
	mask := uint64(len(s.keys) - 1)
	i := s.pos(key)
	for ; s.keys[i] != key+1; i = (i + 1) & mask {
		if s.keys[i] == 0 {
			return false
		}
	}
	for j := (i + 1) & mask; s.keys[j] != 0; j = (j + 1) & mask {
		// The key at j may fill the hole at i unless its home lies
		// cyclically in (i, j]: probing from there never passes i.
		if home := s.pos(s.keys[j] - 1); (j-home)&mask >= (j-i)&mask {
			s.keys[i] = s.keys[j]
			i = j
		}
	}
	s.keys[i] = 0
	s.n--
	return true
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
