/*
 * bench_direct.h - reads that bypass the page cache, for bench_read and
 * bench_ltm (issue 12 section 5): O_DIRECT pread(2), and io_uring (liburing)
 * with O_DIRECT at a queue depth. Crotty, Leis & Pavlo ("Are You Sure You
 * Want to Use MMAP in Your DBMS?", CIDR 2022) recommend exactly this instead
 * of mmap for a store larger than memory; these rows show where the mapping
 * stands against it.
 *
 * Calling sequence:
 *
 *	DirectReader rd(fd, rec, qd);	   fd: the file, any open mode
 *	if (!rd.why().empty()) skip(rd.why());
 *	rd.start(n, next);		   n reads, offsets from next()
 *	for (i = 0; i < n; i++) rd.step(&sum, &lat_ns);	   one read completes
 *
 * The reader reopens fd through /proc/self/fd with O_RDONLY | O_DIRECT (the
 * page cache is neither read nor filled). qd 0 is synchronous pread(2); qd >=
 * 1 is an io_uring of qd entries (no SQPOLL, no registered buffers: the plain
 * io_uring_prep_read a user would write first) that keeps min(qd, reads left)
 * reads in flight: each step() first tops the ring up with new offsets, then
 * waits for one completion.
 *
 * Alignment: O_DIRECT needs the buffer, offset and length aligned to the
 * file's direct-I/O alignment (statx STATX_DIOALIGN; the logical block size of
 * the device). Buffers are posix_memalign'ed to max(4096, that) and a record
 * that is not aligned is read as the aligned span around it ([off rounded
 * down, off + rec rounded up]): a 64-byte record costs a 4 KiB read. The
 * checksum covers the record's own bytes only.
 *
 * counters() adds the reader's counters to a row: the alignment, bytes asked
 * of the device per read, the queue depth, and the most reads that really
 * were in flight at once (the depth the row ran at).
 *
 * Latency of one read (step's *lat_ns): from just before its submission
 * (io_uring_submit, or the pread call) to when step() reaped its completion,
 * in ns, CLOCK_MONOTONIC. At qd 32 that includes the wait in the queue.
 *
 * Errors: why() is "" when the reader works, else the reason, starting with
 * "skipped:" when the machine cannot do it (O_DIRECT refused by the
 * filesystem, io_uring_queue_init failed: e.g. kernel.io_uring_disabled, a
 * seccomp profile without io_uring); step() returns 0 or -errno (-EIO for a
 * short read).
 */
#ifndef MMF_BENCH_DIRECT_H
#define MMF_BENCH_DIRECT_H

#include "bench_fixture.h"

#include <liburing.h>

namespace mmfb {

/* The aligned span around [off, off + rec): device offset, length, and where
 * the record starts inside it. */
struct DirectSpan {
	size_t start, len, skip;
};

inline DirectSpan direct_span(size_t off, size_t rec, size_t align)
{
	size_t start = off / align * align;
	size_t end = (off + rec + align - 1) / align * align;
	return {start, end - start, off - start};
}

/* The file's direct-I/O alignment (statx STATX_DIOALIGN), at least 4096. */
inline size_t direct_align(int fd)
{
	struct statx sx;
	size_t a = kPage;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN)) {
		a = std::max<size_t>(a, sx.stx_dio_offset_align);
		a = std::max<size_t>(a, sx.stx_dio_mem_align);
	}
	return a;
}

class DirectReader {
public:
	DirectReader(int fd, size_t rec, unsigned qd) : rec_(rec), qd_(qd)
	{
		fd_ = open(("/proc/self/fd/" + std::to_string(fd)).c_str(),
			   O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (fd_ < 0) {
			why_ = "skipped: O_DIRECT open refused: " + std::string(std::strerror(errno));
			return;
		}
		align_ = direct_align(fd_);
		slot_len_ = (rec + align_ - 1) / align_ * align_ + align_;
		unsigned slots = std::max(1u, qd);
		for (unsigned i = 0; i < slots; i++) {
			void *p = nullptr;
			if (posix_memalign(&p, align_, slot_len_) != 0) {
				why_ = "cannot allocate aligned buffers";
				return;
			}
			slots_.push_back({static_cast<unsigned char *>(p), {}, 0});
			free_.push_back(i);
		}
		if (qd == 0)
			return;
		int rc = io_uring_queue_init(qd, &ring_, 0);
		if (rc < 0) {
			why_ = "skipped: io_uring_queue_init: " + std::string(std::strerror(-rc));
			std::string dis = read_text("/proc/sys/kernel/io_uring_disabled");
			if (!dis.empty())
				why_ += " (kernel.io_uring_disabled=" + dis.substr(0, dis.find('\n')) + ")";
			return;
		}
		ring_ok_ = true;
	}
	~DirectReader()
	{
		if (ring_ok_)
			io_uring_queue_exit(&ring_);
		for (auto &s : slots_)
			std::free(s.buf);
		if (fd_ >= 0)
			close(fd_);
	}
	DirectReader(const DirectReader &) = delete;
	DirectReader &operator=(const DirectReader &) = delete;

	const std::string &why() const { return why_; }
	/* The reader's counters after `reads` reads: direct_align,
	 * direct_span_bytes (bytes asked of the device per read), qd,
	 * max_inflight. */
	void counters(benchmark::State &st, double reads) const
	{
		st.counters["direct_align"] = double(align_);
		st.counters["direct_span_bytes"] = reads > 0 ? span_bytes_ / reads : 0;
		st.counters["qd"] = double(qd_);
		st.counters["max_inflight"] = double(max_inflight_);
	}

	/* The next n reads take their offsets from next(). */
	void start(size_t n, std::function<size_t()> next)
	{
		left_ = n;
		next_ = std::move(next);
	}

	/* One read completes: *sum += its record's checksum, *lat_ns = its
	 * latency. 0 or -errno. */
	int step(uint64_t *sum, uint64_t *lat_ns)
	{
		if (qd_ == 0)
			return step_pread(sum, lat_ns);
		int rc = top_up();
		if (rc < 0)
			return rc;
		if (free_.size() == slots_.size())
			return -EINVAL;	/* more steps than start() asked for */
		struct io_uring_cqe *cqe;
		rc = io_uring_wait_cqe(&ring_, &cqe);
		if (rc < 0)
			return rc;
		uint64_t t = now_ns();
		unsigned i = unsigned(io_uring_cqe_get_data64(cqe));
		int res = cqe->res;
		io_uring_cqe_seen(&ring_, cqe);
		Slot &s = slots_[i];
		free_.push_back(i);
		if (res < 0)
			return res;
		if (size_t(res) != s.span.len)
			return -EIO;
		*sum += checksum(s.buf + s.span.skip, rec_);
		*lat_ns = t - s.t0;
		return 0;
	}

private:
	struct Slot {
		unsigned char *buf;
		DirectSpan span;
		uint64_t t0;
	};

	int step_pread(uint64_t *sum, uint64_t *lat_ns)
	{
		Slot &s = slots_[0];
		max_inflight_ = 1;
		s.span = direct_span(next_(), rec_, align_);
		span_bytes_ += double(s.span.len);
		uint64_t t0 = now_ns();
		ssize_t got = pread(fd_, s.buf, s.span.len, off_t(s.span.start));
		if (got < 0)
			return -errno;
		*lat_ns = now_ns() - t0;
		if (size_t(got) != s.span.len)
			return -EIO;
		*sum += checksum(s.buf + s.span.skip, rec_);
		return 0;
	}

	/* Submit reads until qd are in flight or none is left. 0 or -errno. */
	int top_up()
	{
		queued_.clear();
		while (left_ > 0 && !free_.empty()) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
			if (!sqe)
				break;
			unsigned i = free_.back();
			free_.pop_back();
			Slot &s = slots_[i];
			s.span = direct_span(next_(), rec_, align_);
			span_bytes_ += double(s.span.len);
			io_uring_prep_read(sqe, fd_, s.buf, unsigned(s.span.len), s.span.start);
			io_uring_sqe_set_data64(sqe, i);
			left_--;
			queued_.push_back(i);
		}
		if (queued_.empty())
			return 0;
		uint64_t t0 = now_ns();
		for (unsigned i : queued_)
			slots_[i].t0 = t0;
		max_inflight_ = std::max(max_inflight_, unsigned(slots_.size() - free_.size()));
		int rc = io_uring_submit(&ring_);
		return rc < 0 ? rc : 0;
	}

	size_t rec_;
	unsigned qd_, max_inflight_ = 0;
	int fd_ = -1;
	size_t align_ = kPage, slot_len_ = 0, left_ = 0;
	double span_bytes_ = 0;
	std::string why_;
	std::vector<Slot> slots_;
	std::vector<unsigned> free_, queued_;	/* slots idle; submitted by top_up */
	std::function<size_t()> next_;
	struct io_uring ring_ {};
	bool ring_ok_ = false;
};

} /* namespace mmfb */

#endif /* MMF_BENCH_DIRECT_H */
