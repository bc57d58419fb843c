# Values log-uniform over 21 decimal orders of magnitude (1e-9 to 1e12), of
# both signs and exact zeros, in groups by sign mix; fixed seed.
import random
random.seed(15)
for i in range(6000):
    v = 10 ** random.uniform(-9, 12)
    g = "pos" if i % 3 == 0 else ("neg" if i % 3 == 1 else "mixed")
    if g == "neg" or (g == "mixed" and random.random() < 0.5):
        v = -v
    if g == "mixed" and random.random() < 0.1:
        v = 0
    print('{"g":"%s","v":%r}' % (g, v))
