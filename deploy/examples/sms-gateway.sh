#!/bin/sh
# Stand-in for an SMS gateway: `firewatch office` runs this once per new alarm hazard with a JSON
# object on stdin ({"hazard": {...}, "address", "community", "ownerName", "ownerPhone"}).
# A real hook would POST it to the gateway; this one appends it to a log file.
log="${FIREWATCH_SMS_LOG:-/tmp/firewatch-sms.log}"
{ printf '%s ' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"; cat; } >> "$log"
