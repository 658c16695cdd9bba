#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <stdlib.h>

#include "ExpressionCorpus.h"
#include "TaskSchedulerPlugin.h"
#include "TaskXml.h"

namespace crontopus::plugins::taskscheduler {
namespace {

// CommandLineToArgvW's rules (the MSVC runtime's since 2008), to check quoting against.
std::vector<std::string> splitWindowsArguments(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    if (i >= line.size()) {
      return out;
    }
    std::string arg;
    bool quoted = false;
    while (i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t'))) {
      if (line[i] == '\\') {
        std::size_t n = 0;
        while (i < line.size() && line[i] == '\\') {
          ++n;
          ++i;
        }
        if (i < line.size() && line[i] == '"') {
          arg.append(n / 2, '\\');
          if (n % 2 == 1) {
            arg += '"';
            ++i;
          }
        } else {
          arg.append(n, '\\');
        }
      } else if (line[i] == '"') {
        if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
          arg += '"';  // "" inside quotes
          i += 2;
          continue;
        }
        quoted = !quoted;
        ++i;
      } else {
        arg += line[i++];
      }
    }
    out.push_back(arg);
  }
}

TEST(WindowsArguments, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(quoteWindowsArgument("run"), "run");
  EXPECT_EQ(quoteWindowsArgument(""), "\"\"");
  EXPECT_EQ(quoteWindowsArgument("a b"), "\"a b\"");
  EXPECT_EQ(quoteWindowsArgument("C:\\dir\\"), "C:\\dir\\");
  EXPECT_EQ(quoteWindowsArgument("C:\\my dir\\"), "\"C:\\my dir\\\\\"");
  EXPECT_EQ(quoteWindowsArgument("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(quoteWindowsArgument("a\\\"b"), "\"a\\\\\\\"b\"");
}

TEST(WindowsArguments, RoundTripThroughTheRuntimeRules) {
  std::mt19937 rng(7);  // any sequence will do; only the property matters
  const std::string alphabet = "ab \\\"\tc:";
  for (int round = 0; round < 5000; ++round) {
    std::vector<std::string> args(1 + rng() % 4);
    for (auto& arg : args) {
      for (std::size_t n = rng() % 8; n > 0; --n) {
        arg += alphabet[rng() % alphabet.size()];
      }
    }
    EXPECT_EQ(splitWindowsArguments(joinWindowsArguments(args)), args)
        << joinWindowsArguments(args);
  }
}

TEST(TaskXml, DurationsRoundTrip) {
  for (long s : {0L, 30L, 60L, 90L, 3600L, 86400L, 86400L + 3661L, 1439L * 60 + 30}) {
    long back = -1;
    ASSERT_TRUE(parseDuration(formatDuration(s), back)) << formatDuration(s);
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(formatDuration(8 * 3600 + 52 * 60), "PT8H52M");
  EXPECT_EQ(formatDuration(86400), "P1D");
  long out = 0;
  EXPECT_FALSE(parseDuration("P1M", out));  // months are never written
  EXPECT_FALSE(parseDuration("PT", out));
  EXPECT_FALSE(parseDuration("15M", out));
  EXPECT_TRUE(parseDuration("PT72H", out));
  EXPECT_EQ(out, 72 * 3600);
}

TEST(TaskXml, EscapesEveryValue) {
  EXPECT_EQ(xmlEscape("a<b>&\"c'\r\n"), "a&lt;b&gt;&amp;&quot;c&apos;&#13;&#10;");
}

sdk::PluginContext hostileContext() {
  sdk::PluginContext context;
  context.agent_path = "C:\\Program Files\\Crontopus & Co\\crontopus-agent.exe";
  context.agent_state_dir = "C:\\ProgramData\\Crontopus \"state\"\\";
  return context;
}

sdk::Job hostileJob(const std::string& schedule) {
  sdk::Job job;
  job.ns = "team-<a>&b";
  job.name = "back'up";
  job.schedule = schedule;
  job.command = "echo secret";
  job.source_file = "team/<jobs>&\"x\".yaml";
  job.checkin.secret = "s3cr3t-value";
  job.checkin.timeout_seconds = 1800;
  return job;
}

bool xmllintAvailable() {
  return std::system("xmllint --version > /dev/null 2>&1") == 0;
}

// Every XML the corpus renders to (in a zone without DST, with DST, and a foreign zone) is
// well-formed for xmllint, reads back to the same definition, and re-renders byte for byte.
TEST(TaskXml, CorpusIsWellFormedAndRoundTrips) {
  ASSERT_TRUE(xmllintAvailable()) << "xmllint is missing: install libxml2-utils";
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "crontopus-taskxml-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const auto corpus = test::expressionCorpus(1000);
  const std::pair<const char*, const char*> zones[] = {
      {"UTC", "UTC"}, {"Europe/Berlin", "Europe/Berlin"}, {"Asia/Tokyo", "Europe/Berlin"}};
  std::size_t files = 0;
  std::ofstream list(dir / "files.txt");
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const auto& [job_zone, host_zone] = zones[i % 3];
    sdk::Job job = hostileJob(corpus[i]);
    job.timezone = job_zone;
    job.paused = i % 5 == 0;
    TaskDefinition task;
    CompiledSchedule schedule;
    sdk::Result r = buildTask(job, hostileContext(), host_zone, task, schedule);
    if (!r) {
      // The hostile namespace is not a valid task folder name: only the XML matters here.
      job.ns = "team";
      r = buildTask(job, hostileContext(), host_zone, task, schedule);
    }
    ASSERT_TRUE(r) << r.message();
    task.description += "\n<&> \"quotes\" 'apostrophes' ]]> \xC3\xA9";
    const std::string xml = renderTaskXml(task);
    EXPECT_EQ(xml.find("s3cr3t"), std::string::npos);
    TaskDefinition back;
    std::string error;
    ASSERT_TRUE(parseTaskXml(xml, back, error)) << error << "\n" << xml;
    EXPECT_EQ(back, task) << corpus[i];
    EXPECT_EQ(renderTaskXml(back), xml);
    const fs::path file = dir / ("task-" + std::to_string(i) + ".xml");
    std::ofstream(file) << xml;
    list << file.string() << "\n";
    ++files;
  }
  list.close();
  const std::string command = "xargs -a '" + (dir / "files.txt").string() +
                              "' xmllint --noout > '" + (dir / "xmllint.log").string() + "' 2>&1";
  int status = std::system(command.c_str());
  std::ifstream log(dir / "xmllint.log");
  std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << log_text;
  std::printf("xmllint: %zu task XML files well-formed\n", files);
  fs::remove_all(dir);
}

// What ITaskDefinition::get_Xml returns looks different: a UTF-16 declaration, elements Windows
// adds, another element order. The reader takes it and the canonical text comes out the same.
TEST(TaskXml, ReadsWhatWindowsHandsBack) {
  const std::string windows = R"(<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Date>2026-11-26T10:00:00</Date>
    <Author>HOST\admin</Author>
    <Description>CRONTOPUS:team/backup
notes</Description>
    <URI>team/backup.yaml</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <Repetition>
        <Interval>PT15M</Interval>
        <Duration>PT8H52M</Duration>
        <StopAtDurationEnd>false</StopAtDurationEnd>
      </Repetition>
      <StartBoundary>2020-01-01T09:00:00</StartBoundary>
      <Enabled>true</Enabled>
      <ScheduleByMonthDayOfWeek>
        <Weeks><Week>1</Week><Week>Last</Week></Weeks>
        <DaysOfWeek><Friday /><Monday /></DaysOfWeek>
        <Months><March /><January /></Months>
      </ScheduleByMonthDayOfWeek>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>LeastPrivilege</RunLevel></Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>false</StartWhenAvailable>
    <IdleSettings><StopOnIdleEnd>true</StopOnIdleEnd></IdleSettings>
    <Enabled>false</Enabled>
    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>
    <Priority>7</Priority>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>C:\crontopus\crontopus-agent.exe</Command>
      <Arguments>run --state-dir C:\state team/backup</Arguments>
    </Exec>
  </Actions>
</Task>
)";
  TaskDefinition task;
  std::string error;
  ASSERT_TRUE(parseTaskXml(windows, task, error)) << error;
  EXPECT_EQ(identityFromDescription(task.description), "team/backup");
  EXPECT_FALSE(task.enabled);
  EXPECT_EQ(task.execution_time_limit_seconds, 3600);
  ASSERT_EQ(task.triggers.size(), 1U);
  const Trigger& t = task.triggers[0];
  EXPECT_EQ(t.kind, TriggerKind::kByMonthDayOfWeek);
  EXPECT_TRUE(t.weeks[0] && t.last_week);
  EXPECT_TRUE(t.days_of_week[1] && t.days_of_week[5]);
  EXPECT_TRUE(t.months[1] && t.months[3]);
  EXPECT_EQ(t.repetition.duration_seconds, 8 * 3600 + 52 * 60);
  TaskDefinition again;
  ASSERT_TRUE(parseTaskXml(renderTaskXml(task), again, error)) << error;
  EXPECT_EQ(again, task);
}

TEST(TaskXml, RejectsMalformedAndForeignDocuments) {
  TaskDefinition task;
  std::string error;
  EXPECT_FALSE(parseTaskXml("<Task><Triggers>", task, error));
  EXPECT_NE(error.find("not well-formed"), std::string::npos) << error;
  EXPECT_FALSE(parseTaskXml("<Other/>", task, error));
  EXPECT_NE(error.find("<Task>"), std::string::npos) << error;
  EXPECT_FALSE(parseTaskXml(
      "<Task><Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers></Task>",
      task, error));
  EXPECT_NE(error.find("LogonTrigger"), std::string::npos) << error;
}

}  // namespace
}  // namespace crontopus::plugins::taskscheduler
