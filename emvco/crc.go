package emvco

// crcTable holds CRC16 remainders for every byte value, so the checksum
// costs one lookup per byte instead of eight shifts.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the CRC-16/CCITT-FALSE checksum of data (polynomial 0x1021,
// initial value 0xFFFF, no reflection, no final XOR). This is the checksum
// EMVCo prescribes for field 63 of a merchant-presented QR payload, where it
// covers everything up to and including "6304". The check value for
// "123456789" is 0x29B1.
func CRC16(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^b]
	}
	return crc
}
