#include "FakeControlPlane.h"

#include <sstream>
#include <stdexcept>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/StreamCopier.h>

namespace crontopus::tests {

Poco::JSON::Object::Ptr SeenRequest::json() const {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

FakeControlPlane::FakeControlPlane() : FakeControlPlane(Options{}) {}

FakeControlPlane::FakeControlPlane(const Options& options) : tls_(!options.cert.empty()) {
  std::vector<std::string> args = {FAKE_CONTROL_PLANE};
  if (tls_) {
    args.insert(args.end(), {"--cert", options.cert, "--key", options.key});
  }
  Poco::Pipe out;
  process_ = std::make_unique<Poco::ProcessHandle>(
      Poco::Process::launch("/usr/bin/python3", args, nullptr, &out, nullptr));
  Poco::PipeInputStream in(out);
  std::string word;
  in >> word >> port_ >> control_port_;
  if (word != "PORTS" || port_ <= 0 || control_port_ <= 0) {
    Poco::Process::kill(*process_);
    process_->wait();
    throw std::runtime_error("the fake control plane did not start (see its stderr)");
  }
}

FakeControlPlane::~FakeControlPlane() {
  try {
    Poco::Process::kill(*process_);
    process_->wait();
  } catch (const Poco::Exception&) {
    // Already gone: nothing left to stop.
  }
}

std::string FakeControlPlane::url() const {
  return std::string(tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::string FakeControlPlane::get(const std::string& path) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(control_port_));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  std::string body;
  Poco::StreamCopier::copyToString(in, body);
  return body;
}

void FakeControlPlane::control(const std::string& json) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(control_port_));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/control",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(json.size()));
  session.sendRequest(request) << json;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  std::string body;
  Poco::StreamCopier::copyToString(in, body);
  if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
    throw std::runtime_error("control command refused: " + json);
}

std::vector<SeenRequest> FakeControlPlane::requests(const std::string& path_prefix) const {
  Poco::JSON::Parser parser;
  auto list = parser.parse(get("/records")).extract<Poco::JSON::Array::Ptr>();
  std::vector<SeenRequest> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    SeenRequest r;
    r.path = o->getValue<std::string>("path");
    if (r.path.rfind(path_prefix, 0) != 0)
      continue;
    r.time = o->getValue<double>("time");
    r.method = o->getValue<std::string>("method");
    r.body = o->getValue<std::string>("body");
    r.status = o->isNull("status") ? -1 : o->getValue<int>("status");
    auto headers = o->getObject("headers");
    r.authorization = headers->optValue<std::string>("Authorization", "");
    r.user_agent = headers->optValue<std::string>("User-Agent", "");
    out.push_back(r);
  }
  return out;
}

std::vector<Poco::JSON::Object::Ptr> FakeControlPlane::checkins() const {
  Poco::JSON::Parser parser;
  auto list = parser.parse(get("/checkins")).extract<Poco::JSON::Array::Ptr>();
  std::vector<Poco::JSON::Object::Ptr> out;
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(list->getObject(static_cast<unsigned>(i))->getObject("body"));
  return out;
}

Poco::JSON::Object::Ptr FakeControlPlane::state() const {
  Poco::JSON::Parser parser;
  return parser.parse(get("/state")).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace crontopus::tests
