package auth

import "time"

// WrapCompareForTest lets a test watch (count, slow down) the password
// comparisons the service makes.
func (s *Service) WrapCompareForTest(wrap func(compare func(password, hash string) (bool, error)) func(password, hash string) (bool, error)) {
	s.compare = wrap(s.compare)
}

// SetHashWaitForTest changes how long a login waits for a comparison slot.
func (s *Service) SetHashWaitForTest(d time.Duration) { s.hashWait = d }
