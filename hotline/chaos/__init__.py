"""`hotline chaos`: fault injection on a private three-broker cluster, every service twice over."""
