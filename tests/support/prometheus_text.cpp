#include "tests/support/prometheus_text.hpp"

#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

namespace stasis::test {
namespace {

const std::regex k_name("[a-zA-Z_:][a-zA-Z0-9_:]*");

// Reads `name="value",...}` from text at pos (after the '{'); false on bad syntax.
bool read_labels(const std::string& text, std::size_t& pos,
                 std::map<std::string, std::string>& labels) {
  while (pos < text.size() && text[pos] != '}') {
    const auto eq = text.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"') {
      return false;
    }
    const std::string name = text.substr(pos, eq - pos);
    if (!std::regex_match(name, k_name)) {
      return false;
    }
    std::string value;
    pos = eq + 2;
    for (; pos < text.size() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\\') {
        if (++pos >= text.size()) {
          return false;
        }
        const char escaped = text[pos];
        if (escaped == 'n') {
          value += '\n';
        } else if (escaped == '\\' || escaped == '"') {
          value += escaped;
        } else {
          return false;
        }
      } else if (text[pos] == '\n') {
        return false;
      } else {
        value += text[pos];
      }
    }
    if (pos >= text.size()) {
      return false;
    }
    labels[name] = value;
    ++pos; // the closing quote
    if (pos < text.size() && text[pos] == ',') {
      ++pos;
    }
  }
  if (pos >= text.size()) {
    return false;
  }
  ++pos; // '}'
  return true;
}

} // namespace

const PrometheusSample* PrometheusText::find(const std::string& name,
                                             const std::string& job) const {
  for (const auto& sample : samples) {
    const auto label = sample.labels.find("stasis_job");
    const bool matches = job.empty()
                             ? label == sample.labels.end()
                             : label != sample.labels.end() && label->second == job;
    if (sample.name == name && matches) {
      return &sample;
    }
  }
  return nullptr;
}

PrometheusText parse_prometheus_text(const std::string& text) {
  PrometheusText result;
  std::set<std::string> helped;
  std::set<std::string> finished; // families whose samples ended
  std::string current;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto problem = [&](const std::string& what) {
    result.problem = "line " + std::to_string(number) + ": " + what + ": " + line;
    return result;
  };
  if (!text.empty() && text.back() != '\n') {
    result.problem = "the text does not end with a newline";
    return result;
  }
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string family;
      std::string rest;
      words >> family >> rest;
      if (!std::regex_match(family, k_name) || rest.empty()) {
        return problem("bad HELP/TYPE line");
      }
      if (finished.count(family) != 0 ||
          (family != current && !current.empty() && result.types.count(current) == 0)) {
        return problem("family announced twice or out of order");
      }
      if (!current.empty() && current != family) {
        finished.insert(current);
      }
      current = family;
      if (line[2] == 'H') {
        helped.insert(family);
      } else {
        static const std::set<std::string> types = {"counter", "gauge", "histogram",
                                                    "summary", "untyped"};
        if (types.count(rest) == 0 || result.types.count(family) != 0) {
          return problem("bad or repeated TYPE");
        }
        result.types[family] = rest;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      continue;
    }
    PrometheusSample sample;
    std::size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) {
      return problem("no value");
    }
    sample.name = line.substr(0, pos);
    if (!std::regex_match(sample.name, k_name)) {
      return problem("bad metric name");
    }
    if (line[pos] == '{') {
      ++pos;
      if (!read_labels(line, pos, sample.labels)) {
        return problem("bad labels");
      }
    }
    if (pos >= line.size() || line[pos] != ' ') {
      return problem("no space before the value");
    }
    const std::string value = line.substr(pos + 1);
    char* end = nullptr;
    sample.value = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size()) {
      return problem("the value is not a number");
    }
    if (sample.name != current || helped.count(current) == 0 ||
        result.types.count(current) == 0) {
      return problem("a sample without HELP and TYPE of its family before it");
    }
    result.samples.push_back(std::move(sample));
  }
  return result;
}

} // namespace stasis::test
