# Latencies with 16 significant digits, lognormal, 4 hosts; fixed seed.
import random
random.seed(6)
for i in range(4000):
    print('{"host":"h%d","ms":%r}' % (i % 4, random.lognormvariate(3, 1.2)))
