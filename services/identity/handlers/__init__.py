"""Identity use cases, split by actor: sign-in, directory, machines, single sign-on."""
