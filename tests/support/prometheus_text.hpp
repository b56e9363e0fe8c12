// A strict reader of the Prometheus text exposition format (0.0.4) for tests:
// every sample must belong to a family announced by a HELP and a TYPE line
// before it, label values must be escaped, values must be numbers.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace stasis::test {

// One sample: metric name, labels (unescaped values) and value.
struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// What parse_prometheus_text() read: the samples, or the first problem
// ("line N: ...").
struct PrometheusText {
  std::vector<PrometheusSample> samples;
  std::map<std::string, std::string> types; // family -> TYPE
  std::string problem;

  // The sample name{stasis_job="job"} (or the unlabelled one when job is
  // empty); nullptr when there is none.
  const PrometheusSample* find(const std::string& name,
                               const std::string& job = "") const;
};

PrometheusText parse_prometheus_text(const std::string& text);

} // namespace stasis::test
