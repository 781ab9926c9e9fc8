"""The automation runtime: runs every running pipeline of the organizations whose shards this
replica holds, on what the data plane publishes, and publishes the actions its output nodes ask for.
See :mod:`vigia.automation.app` for the start-up and :mod:`vigia.automation.shard` for the contract."""
