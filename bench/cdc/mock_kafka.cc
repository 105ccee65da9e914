// mock_kafka: librdkafka's mock cluster as a stand-alone process, for the benchmark's Kafka sink.
// Prints the bootstrap servers (loopback TCP) on one line, then serves until it
// receives SIGTERM or SIGINT. Usage: mock_kafka [BROKERS [TOPIC...]]
// The topics named are created up front (one partition each): librdkafka 2.0's mock cluster does
// not implement the admin API's CreateTopics.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const std::string brokers = argc > 1 ? argv[1] : "1";
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "test.mock.num.brokers", brokers.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "mock_kafka: %s\n", err);
    return 2;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "mock_kafka: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(rk);
  for (int i = 2; i < argc; ++i) {
    if (rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster, argv[i], 1, 1); e) {
      std::fprintf(stderr, "mock_kafka: topic %s: %s\n", argv[i], rd_kafka_err2str(e));
      return 1;
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int received = 0;
  sigwait(&signals, &received);
  rd_kafka_destroy(rk);
  return 0;
}
