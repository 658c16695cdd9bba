#pragma once

#include <memory>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Process.h>

namespace crontopus::tests {

// One request the fake control plane saw.
struct SeenRequest {
  double time = 0;
  std::string method;
  std::string path;
  std::string authorization;
  std::string user_agent;
  std::string body;
  int status = 0;  // what it answered; 0 = held and dropped, -1 = still in progress

  Poco::JSON::Object::Ptr json() const;
};

// tests/controlplane/fake_control_plane.py, started on free loopback ports for one test and
// killed when the object goes away (also when the test fails).
class FakeControlPlane {
 public:
  struct Options {
    std::string cert;  // PEM; with key: serve HTTPS
    std::string key;
  };
  FakeControlPlane();
  explicit FakeControlPlane(const Options& options);
  ~FakeControlPlane();
  FakeControlPlane(const FakeControlPlane&) = delete;
  FakeControlPlane& operator=(const FakeControlPlane&) = delete;

  int port() const { return port_; }
  // http://127.0.0.1:PORT, or https://localhost:PORT with TLS.
  std::string url() const;

  std::vector<SeenRequest> requests(const std::string& path_prefix = "") const;
  std::size_t count(const std::string& path_prefix) const { return requests(path_prefix).size(); }
  // Accepted check-ins (their bodies), in arrival order.
  std::vector<Poco::JSON::Object::Ptr> checkins() const;
  Poco::JSON::Object::Ptr state() const;

  // Sends one control command, e.g. R"({"action": "down"})".
  void control(const std::string& json) const;

 private:
  std::string get(const std::string& path) const;

  bool tls_ = false;
  int port_ = 0;
  int control_port_ = 0;
  std::unique_ptr<Poco::ProcessHandle> process_;
};

}  // namespace crontopus::tests
