def generate(**options):
    raise TypeError("not yet")
