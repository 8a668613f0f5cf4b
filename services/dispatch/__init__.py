"""Dispatch: routing work orders to units, the unit's lifecycle, the center's review."""
