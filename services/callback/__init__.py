"""Callback: replies and surveys to customers under quiet-hour and retry rules."""
