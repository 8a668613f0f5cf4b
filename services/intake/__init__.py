"""Intake: calls and work orders in, complaint grading, the agents' ticket view."""
