/* thread.h: names the engine's threads, so that top -H, perf and /proc/PID/task/TID/comm tell
 * the stages of a run apart. */
#ifndef SNE_THREAD_H
#define SNE_THREAD_H

/* Names the calling thread (at most 15 bytes are kept). */
void sne_thread_name(const char *name);

#endif
