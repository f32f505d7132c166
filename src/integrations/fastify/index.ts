// Entry point of 'redkit/fastify'. Its middleware lands here; the entry exists now so the
// package's exports map is stable for early adopters.

export {}
