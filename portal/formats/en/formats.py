# 21 Nov 2026, 14:05:09 — day first and a 24-hour clock, unambiguous next to the "UTC" label.
DATETIME_FORMAT = "j M Y, H:i:s"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
