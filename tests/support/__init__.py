"""What the tests share: waiting on progress, event factories, brokers, databases, services and stacks."""
