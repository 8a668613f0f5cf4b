"""Unit tests of the shared auth component: tokens, roles and scope, masking, reveal, audit."""
