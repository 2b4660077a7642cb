"""A day of users: a smooth daily curve, a little noise, and one sudden rush at a seeded time.

The autoscaling model (``autoscaling.py``, chapters 02 and 06) needs
traffic that looks like a real service's day: quiet at night, busiest in
the afternoon, and one flash crowd (a link on a popular site, a TV spot)
that roughly doubles the users within two minutes. ``day_of_arrivals``
returns how many new sessions begin in each minute; sessions last
``SESSION_MINUTES`` on average (exponentially), so the number of live
sessions follows the curve. The same seed gives the same day, rush included.
"""

import math

__all__ = ["day_of_arrivals", "DAY_MINUTES", "SESSION_MINUTES", "SPIKE_MINUTES"]

DAY_MINUTES = 24 * 60
SESSION_MINUTES = 30         # mean session length (exponential)
NIGHT_LEVEL = 0.25           # traffic at 02:00 relative to the 14:00 peak
PEAK_HOUR = 14
NOISE = 0.03                 # minute-to-minute wobble of new sessions
SPIKE_HOURS = (8, 20)        # a flash crowd arrives at a seeded time in this window
SPIKE_SIZE = (0.8, 1.2)      # ...adding this fraction of the current users
SPIKE_MINUTES = 2            # ...within two minutes


def _users_wanted(hour, peak_sessions):
    """Concurrent sessions the day's curve asks for at ``hour`` (cosine, peak at PEAK_HOUR)."""
    wave = (1 + math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24)) / 2
    return peak_sessions * (NIGHT_LEVEL + (1 - NIGHT_LEVEL) * wave)


def day_of_arrivals(peak_sessions, rng):
    """New sessions per minute for one day, the spike's minute, and the sessions at midnight."""
    keep = math.exp(-1 / SESSION_MINUTES)
    wanted = [_users_wanted(m / 60, peak_sessions) for m in range(DAY_MINUTES + 1)]
    spike_minute = rng.randrange(SPIKE_HOURS[0] * 60, SPIKE_HOURS[1] * 60)
    spike_size = rng.uniform(*SPIKE_SIZE)
    arrivals = []
    for m in range(DAY_MINUTES):
        new = max(0.0, wanted[m + 1] - wanted[m] * keep) * (1 + NOISE * rng.gauss(0, 1))
        if spike_minute <= m < spike_minute + SPIKE_MINUTES:
            new += spike_size * wanted[spike_minute] / SPIKE_MINUTES
        arrivals.append(max(0.0, new))
    return arrivals, spike_minute, wanted[0]
