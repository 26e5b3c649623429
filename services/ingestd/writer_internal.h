/*
 * writer_internal - what the three files of ingestd's writer share.
 *
 * The writer is one module over three files: writer.c holds the queue, the
 * thread, the hand-back of finished groups to the loop and the life cycle;
 * writer_group.c the transaction of one group (readings, quarantine,
 * events and their apply, the COMMIT, and what its outcome means for each
 * job); writer_bus.c the bus messages a group stages in bus_log before
 * that COMMIT.  Only these three include this header: the rest of ingestd
 * sees an opaque struct writer through ingestd.h.  Everything declared
 * here runs on a writer thread.  The writer runs one thread per store
 * connection (writer_connections): each thread's own state is a struct
 * writer_conn, the queue and the hand-back are shared in struct writer
 * under its mutex.  The writer, its connections and each group belong to
 * writer.c, which lends them to the other two for the length of a call.
 */
#ifndef ANQUAN_INGESTD_WRITER_INTERNAL_H
#define ANQUAN_INGESTD_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingestd.h"
#include "store.h"

struct bus_producer;
struct bus_sock;
struct done_batch;
struct event;
struct event_base;
struct metric;
struct registry;

struct writer;

/* One writer thread and what only it touches: its connection, its COPY
 * buffers, which readings of its current group were newly stored. */
struct writer_conn {
	struct writer *w;
	unsigned index;
	pthread_t thread;
	bool thread_started;
	struct store *st;
	struct store_copy_buf rows, staged;
	uint8_t *stored; /* per reading of the group: 1 when newly stored */
	size_t stored_cap;
	uint64_t groups;
	bool lost; /* under w->mu: the connection failed, not probed back yet */
};

/* The writer: loop-side fields, the queue under mu, its connections. */
struct writer {
	struct event_base *base;
	struct registry *reg;
	void (*publish)(void *arg, struct bus_producer *prod);
	void *publish_arg;
	struct bus_sock *pub;
	size_t queue_max, group_max;
	int64_t group_wait_us;

	struct writer_conn *conns;
	size_t nconns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	struct ingest_job *qhead, *qtail;
	size_t qitems;
	size_t nbusy; /* threads with a group in hand */
	size_t nlost; /* connections lost; the writer is down while any is */
	bool stopping, draining;
	bool collecting; /* a thread is forming a group (take_group) */
	struct done_batch *dhead, *dtail;
	/*
	 * Bus order: a transaction that staged messages takes a ticket just
	 * before its COMMIT; its producer reaches the loop in ticket order
	 * (held, sorted, until every lower ticket came back), so messages
	 * are published in the order of their streams' seqs.
	 */
	uint64_t next_ticket, next_release;
	struct done_batch *held;
	/* Read without the lock by the loop's accessors; down is written
	 * under mu (nlost > 0). */
	atomic_size_t depth;
	atomic_bool down;

	/* Loop thread. */
	struct event *done_ev;
	void (*drain_cb)(void *arg);
	void *drain_arg;
	bool drain_called;

	struct metric *m_accepted, *m_duplicates, *m_quarantined;
	struct metric *m_queue, *m_commit, *m_group, *m_store_down,
	    *m_failed;
};

/* The group being written: its jobs and where each one's readings start. */
struct writer_group {
	struct ingest_job **jobs;
	size_t njobs;
	size_t *off; /* index of each job's first reading in c->stored */
	size_t nreadings, nunknown, nevents, items;
};

/* --- writer_group.c ------------------------------------------------------ */

/* Gather the jobs linked by next into g and size c->stored for its
 * readings; 0, or -1 when memory ran out (writer_group_free still works). */
int writer_group_init(struct writer_conn *c, struct writer_group *g,
    struct ingest_job *jobs);
/* Free what writer_group_init() allocated; the jobs stay the caller's. */
void writer_group_free(struct writer_group *g);
/*
 * Write a group in one transaction (once more when a connection dropped
 * while idle) and set every job's status, counts and error; nrej[j] is job
 * j's count of rejections before the attempt, restored when it fails.
 * Returns the producer with the staged bus messages (the caller's), or NULL;
 * with a producer, *ticket is its place in the bus order (see struct
 * writer), which the caller must hand back with writer_release().
 */
struct bus_producer *writer_group_write(struct writer_conn *c,
    struct writer_group *g, const size_t *nrej, uint64_t *ticket);

/* --- writer.c ------------------------------------------------------------- */

/* Take the next ticket of the bus order (before a COMMIT). */
uint64_t writer_take_ticket(struct writer *w);
/* Give back a ticket whose COMMIT failed: nothing of it is published. */
void writer_drop_ticket(struct writer *w, uint64_t ticket);
/* c's connection is out of reach: the writer refuses jobs until c's
 * probe answers again; why is logged when the writer goes down. */
void writer_conn_lost(struct writer_conn *c, const char *why);

/* --- writer_bus.c -------------------------------------------------------- */

/*
 * Stage in bus_log, inside the open transaction, one ReadingBatch per
 * rd.<district>.<sector> and one EventBatch per ev.<kind> of what g newly
 * stored, on a new producer over w->pub left in *prod (NULL when there is
 * no PUB socket or nothing to send).  0, or -1 with err and *prod NULL.
 */
int writer_bus_stage(struct writer_conn *c, struct writer_group *g,
    struct bus_producer **prod, struct store_err *err);

#endif
