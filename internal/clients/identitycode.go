package clients

import (
	"strings"
	"time"
)

// identityCheckChars are the 31 check characters of a Finnish personal
// identity code: the remainder of DDMMYYNNN divided by 31 picks one.
const identityCheckChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// centuryOf maps a century sign to the century it stands for. The 2023
// reform added Y X W V U beside "-" for the 1900s and B C D E F beside "A"
// for the 2000s, so that numbers do not run out.
func centuryOf(sign byte) (int, bool) {
	switch sign {
	case '+':
		return 1800, true
	case '-', 'Y', 'X', 'W', 'V', 'U':
		return 1900, true
	case 'A', 'B', 'C', 'D', 'E', 'F':
		return 2000, true
	}
	return 0, false
}

// ParseIdentityCode checks a Finnish personal identity code (henkilötunnus)
// and returns it in canonical form (upper case, no surrounding space) with
// the date of birth it carries. It checks the shape, the date, the
// individual number (002–999: 000 and 001 are never given) and the check
// character.
func ParseIdentityCode(s string) (code string, birth time.Time, ok bool) {
	code = strings.ToUpper(strings.TrimSpace(s))
	if len(code) != 11 {
		return "", time.Time{}, false
	}
	century, ok := centuryOf(code[6])
	if !ok {
		return "", time.Time{}, false
	}
	digits := code[:6] + code[7:10]
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return "", time.Time{}, false
		}
		n = n*10 + int(c-'0')
	}
	if individual := n % 1000; individual < 2 {
		return "", time.Time{}, false
	}
	if identityCheckChars[n%31] != code[10] {
		return "", time.Time{}, false
	}
	day := int(code[0]-'0')*10 + int(code[1]-'0')
	month := int(code[2]-'0')*10 + int(code[3]-'0')
	year := century + int(code[4]-'0')*10 + int(code[5]-'0')
	birth = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if birth.Day() != day || int(birth.Month()) != month || birth.Year() != year {
		return "", time.Time{}, false // 31.02. and the like
	}
	return code, birth, true
}

// MaskIdentityCode shows the part of a code that is the date of birth and
// hides the rest: "131052-308T" → "131052-****".
func MaskIdentityCode(code string) string {
	if len(code) != 11 {
		return ""
	}
	return code[:7] + "****"
}
