//go:build !race

package live

// raceEnabled says the race detector is on, which multiplies memory use.
const raceEnabled = false
