/*
 * citysim_rng - the simulator's pseudo-random numbers.
 *
 * The demo city must be the same city for the same seed wherever it is
 * made, so citysim never calls rand(): it carries its own xoshiro256**
 * generator, seeded through splitmix64 from the city seed and a stream
 * name.  Each kind of record draws from its own stream, so asking for more
 * points does not change the enterprises.  The integer and uniform draws
 * are exact; the normal draw goes through log, sqrt and cos, whose last
 * bit may differ between C libraries, so the city is byte for byte the
 * same on machines with the same libm, and its values are rounded to the
 * digits a registry shows, which hides such differences in practice.
 * Callers own their struct sim_rng; nothing here is global.
 */
#include <math.h>
#include <stdint.h>

#include "citysim.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return splitmix64(&h);
}

void
sim_rng_init(struct sim_rng *r, uint64_t seed, const char *stream)
{
	uint64_t x = seed ^ sim_rng_hash(stream);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t
sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Lemire's multiply-and-reject: uniform without a division per draw. */
uint32_t
sim_rng_below(struct sim_rng *r, uint32_t n)
{
	uint64_t m = (sim_rng_next(r) >> 32) * n;
	uint32_t low = (uint32_t)m;

	if (low < n) {
		uint32_t floor_ = (uint32_t)(-n) % n;

		while (low < floor_) {
			m = (sim_rng_next(r) >> 32) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

/* 53 random bits make a double in [0, 1) exactly. */
static double
unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double
sim_rng_uniform(struct sim_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * unit(r);
}

/* Box-Muller; one of the pair is enough for a simulator. */
double
sim_rng_gauss(struct sim_rng *r)
{
	double u1 = 1.0 - unit(r); /* (0, 1]: log is finite */
	double u2 = unit(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

bool
sim_rng_chance(struct sim_rng *r, double p)
{
	return unit(r) < p;
}

size_t
sim_rng_weighted(struct sim_rng *r, const double *w, size_t n)
{
	double total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += w[i];
	x = unit(r) * total;
	for (i = 0; i + 1 < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}
