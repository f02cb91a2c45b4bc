"""Scale-out on NATS JetStream: stateless intake nodes, partitioned workers.

Optional (the `nats` extra); the embedded server does not import any of this.
"""
