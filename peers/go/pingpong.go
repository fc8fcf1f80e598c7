package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"time"
)

// pingpong: one message bounced between two goroutines, over a pair of channels (chan)
// or a loopback TCP connection (tcp). The goroutine that starts each round trip times
// them once the other is ready; both check every message as parlab does
// (peers/PROTOCOL.md): its length, its round number in the first 8 bytes (little
// endian) and the CRC-32 (IEEE) of the rest, a fixed pattern where byte i is
// (i*131+7) mod 256.

// message is one size's bytes and the CRC of all but the first 8.
type message struct {
	bytes   []byte
	tailCRC uint32
}

func newMessage(size int) message {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	return message{bytes: b, tailCRC: crc32.ChecksumIEEE(b[8:])}
}

func (m message) check(got []byte, round uint64) error {
	if len(got) != len(m.bytes) {
		return fmt.Errorf("a message of %d bytes arrived as %d bytes", len(m.bytes), len(got))
	}
	if stamp := binary.LittleEndian.Uint64(got[:8]); stamp != round {
		return fmt.Errorf("round %d's message carried round %d", round, stamp)
	}
	if crc := crc32.ChecksumIEEE(got[8:]); crc != m.tailCRC {
		return fmt.Errorf("round %d's message of %d bytes is corrupt (CRC-32 %08x, expected %08x)", round, len(got), crc, m.tailCRC)
	}
	return nil
}

// pingpongRounds is parlab's rule: messages over 256 KiB do fewer round trips, in
// proportion, but at least 20.
func pingpongRounds(roundTrips int64, size int) int64 {
	const large = 256 << 10
	if size <= large {
		return roundTrips
	}
	r := roundTrips * large / int64(size)
	if r < 20 {
		r = 20
	}
	if r > roundTrips {
		r = roundTrips
	}
	return r
}

func runPingpong(a *args) {
	c := a.common([]string{"chan", "tcp"})
	sizes := a.intList("sizes", "8,64,512,4096,32768,262144,1048576", 8, 1<<30)
	roundTrips := a.number("round-trips", 1000, 1, 10000000)
	a.finish()
	for _, size := range sizes {
		rounds := pingpongRounds(roundTrips, size)
		for _, t := range c.techniques {
			row := newRow("pingpong", t, obj{"size_bytes": size, "round_trips": rounds})
			bounce := bounceChan
			if t == "tcp" {
				bounce = bounceTCP
			}
			runRow(row, func(r *Row) error {
				samples, _, err := measureOwn(c, func() (struct{}, float64, error) {
					took, err := bounce(newMessage(size), uint64(rounds))
					return struct{}{}, took.Seconds() / float64(rounds), err
				}, func(struct{}) error { return nil })
				if err != nil {
					return err
				}
				r.succeed(samples)
				m := median(samples)
				r.Extra = obj{"round_trip_us": num(m * 1e6), "gb_per_s": num(2 * float64(size) / m / 1e9), "copies": t == "tcp"}
				return nil
			})
		}
	}
}

// bounceChan: two goroutines, a channel each way; the slice is handed over, not copied.
func bounceChan(m message, rounds uint64) (time.Duration, error) {
	there, back := make(chan []byte, 1), make(chan []byte, 1)
	failed := make(chan error, 1)
	go func() {
		back <- nil // ready
		for round := uint64(0); round < rounds; round++ {
			buf := <-there
			if err := m.check(buf, round); err != nil {
				failed <- err
				close(back)
				return
			}
			back <- buf
		}
		failed <- nil
	}()
	<-back
	buf := append([]byte(nil), m.bytes...)
	start := time.Now()
	for round := uint64(0); round < rounds; round++ {
		binary.LittleEndian.PutUint64(buf[:8], round)
		there <- buf
		got, ok := <-back
		if !ok {
			return 0, <-failed
		}
		if err := m.check(got, round); err != nil {
			return 0, err
		}
		buf = got
	}
	took := time.Since(start)
	return took, <-failed
}

// bounceTCP: two goroutines over a loopback TCP connection (TCP_NODELAY, Go's default),
// each message framed by its length (u64, little endian) as parlab's pipe and tcp rows.
func bounceTCP(m message, rounds uint64) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	failed := make(chan error, 1)
	go func() {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			failed <- err
			return
		}
		defer conn.Close()
		if _, err := conn.Write([]byte{'R'}); err != nil {
			failed <- err
			return
		}
		frame, body := make([]byte, 8+len(m.bytes)), make([]byte, len(m.bytes))
		for round := uint64(0); round < rounds; round++ {
			if err := readFrame(conn, body); err != nil {
				failed <- err
				return
			}
			if err := m.check(body, round); err != nil {
				failed <- err
				return
			}
			if err := writeFrame(conn, frame, body); err != nil {
				failed <- err
				return
			}
		}
		failed <- nil
	}()
	conn, err := ln.Accept()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ready := make([]byte, 1)
	if _, err := io.ReadFull(conn, ready); err != nil {
		return 0, fmt.Errorf("the echo goroutine never got ready: %v", err)
	}
	buf := append([]byte(nil), m.bytes...)
	frame, back := make([]byte, 8+len(buf)), make([]byte, len(buf))
	start := time.Now()
	for round := uint64(0); round < rounds; round++ {
		binary.LittleEndian.PutUint64(buf[:8], round)
		if err := writeFrame(conn, frame, buf); err != nil {
			return 0, err
		}
		if err := readFrame(conn, back); err != nil {
			return 0, err
		}
		if err := m.check(back, round); err != nil {
			return 0, err
		}
	}
	took := time.Since(start)
	return took, <-failed
}

func writeFrame(w io.Writer, frame, body []byte) error {
	binary.LittleEndian.PutUint64(frame[:8], uint64(len(body)))
	copy(frame[8:], body)
	_, err := w.Write(frame)
	return err
}

func readFrame(r io.Reader, body []byte) error {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	if n := binary.LittleEndian.Uint64(head[:]); n != uint64(len(body)) {
		return fmt.Errorf("a message of %d bytes was announced as %d bytes", len(body), n)
	}
	_, err := io.ReadFull(r, body)
	return err
}
