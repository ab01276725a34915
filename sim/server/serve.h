/* serve.h: `snesync-sim serve`, the HTTP side of the export service simulator.
 *
 * How to use: sim_main.c dispatches `snesync-sim serve ARGS...` to sim_serve_main() with argv[0]
 * "serve". The server implements /work/shared/contract/exports-api.yaml over a simulated register
 * in --data DIR: it answers POST /v1.0/exports by running sim_export_write() in a worker thread,
 * serves the status, the archive (with Range), DELETE, GET /v1.0/demandes/mouvements over
 * DIR/mouvements.tsv, and the unit read GET /v1.0/demandes/{numUnique} (serve_demande.h). It
 * prints "listening on http(s)://ADDR:PORT" on stdout once ready and stops cleanly on SIGINT or
 * SIGTERM (exit 0).
 *
 *   snesync-sim serve --data DIR --port P [--bind 127.0.0.1]
 *       [--tls-cert F --tls-key F [--tls-client-ca F]] [--token-file F]
 *       [--faults SPEC | --faults-file F] [--retry-after S] [--min-poll S]
 *       [--expire-seconds S] [--work-dir D] [--generation-seconds S] [--gdm-page-size N]
 *
 * Fault plan (--faults SPEC, or --faults-file F with one SPEC per line, '#' comments):
 *
 *   SPEC   = RULE *( "," RULE )
 *   RULE   = POINT ":" ACTION [ "@" NUMBER ] [ "*" ( NUMBER | "always" ) ] [ "+" NUMBER ]
 *   POINT  = post | status | file | delete | gdm | demande   (one HTTP request of that kind;
 *                                                            demande: a unit read)
 *          | export                                  (one export accepted by POST)
 *
 *   ACTION at an HTTP point:
 *     400..599        answer with that status (problem+json) instead of handling the request;
 *                     429 and 503 carry Retry-After: @S seconds, default --retry-after
 *     delay@MS        wait MS milliseconds, then handle the request normally
 *     trickle[@MS]    handle the request normally, but send the body one byte every MS
 *                     milliseconds (default 1000); at `file` only when the archive is sent
 *     html            answer 200 text/html (a proxy's maintenance page) instead
 *   ACTION at `file` (taken only when the archive itself would be sent, 200 or 206), `gdm` and
 *   `demande`:
 *     cut@BYTES       send BYTES bytes of the body, then close the connection mid-transfer
 *   ACTION at `file` only, taken as cut is:
 *     notgzip         answer 200 text/html (a proxy's error page) instead of the archive
 *     longer[@N]      Content-Length N bytes more than the body (default 1): the whole body,
 *                     then the connection is closed
 *     shorter[@N]     Content-Length N bytes short of the body (default half), which stops there
 *   ACTION at `export`:
 *     echec[@N]       the export ends ECHEC (erreur.code "ERREUR_SIMULEE"); with @N (at most
 *                     1024) erreur.message is N bytes of hostile text: control characters, an
 *                     ANSI escape, quotes, a backslash, non-ASCII (clients must clean it)
 *     slow@S          generation takes S more seconds (watch EN_ATTENTE / EN_COURS)
 *     truncate[@B]    the archive is cut to B bytes (default half); the status announces the cut
 *                     file's taille and sha256, so only unpacking it shows the damage
 *     badsha          the status (and the ETag) announce a wrong sha256
 *
 *   *N fires the rule N times (default 1), *always every time; +N lets the first N events at
 *   its point pass before it fires. For each event the first rule (in SPEC order) that is due
 *   fires, and only that one.
 *   Example: "post:503*2,status:429+1,file:cut@65536,export:badsha"
 *
 * Timing: an export stays EN_ATTENTE for the first quarter of --generation-seconds (plus any
 * export:slow), then EN_COURS until both sim_export_write() has returned and that time is over;
 * `progression` is the smaller of the writer's progress and the elapsed fraction. The 202 and
 * every EN_ATTENTE/EN_COURS status carry Retry-After (--retry-after); status polls of one export
 * closer than --min-poll seconds (counted from the POST, then from the last answered poll) get 429.
 * Identity ("guichet", for the one-export-in-progress rule): the CN of the client certificate
 * under --tls-client-ca, else "default". Bounds: 64 exports kept (the oldest ECHEC/EXPIRE one is
 * dropped for a new one, else 503), 4 generating, 32 connections, 64 KiB request bodies.
 * GDM: see serve_gdm.h for the mouvements.tsv format and how filters are applied. */
#ifndef SIM_SERVE_H
#define SIM_SERVE_H

/* Runs the server until SIGINT/SIGTERM. Returns the process exit code: 0 after a clean stop,
 * 2 on a usage error, 1 when the server could not start. */
int sim_serve_main(int argc, char **argv);

#endif
