# 21 Nov 2026, 14.05.09 — Indonesian writes the time with dots (Django's id locale does too).
DATETIME_FORMAT = "j M Y, H.i.s"
SHORT_DATETIME_FORMAT = "j M Y, H.i"
