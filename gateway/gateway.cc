// All I/O: loops, listeners, connections, codecs, proxying, upstream pools.
