"""Invitation waves: who gets a letter on a day, per campaign, no faster than the centres can absorb."""
