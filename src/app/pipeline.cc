#include "app/pipeline.h"

namespace migsbyu::app {

void AddPipelineOptions(CLI::App* cmd, PipelineOptions* options) {
  cmd->add_option("--lake-dir", options->lake_dir, "Folder of the analytics lake")
      ->capture_default_str();
  cmd->add_flag("!--no-pipeline", options->enabled, "Serve the portal without capture and lake");
}

namespace {
class NoPipeline : public Pipeline {
 public:
  void Stop() override {}
};
}  // namespace

Result<std::unique_ptr<Pipeline>> StartPipeline(const std::string&, const PipelineOptions&,
                                                portal::Router&) {
  // Capture and lake are wired in here as their components land.
  return std::unique_ptr<Pipeline>(std::make_unique<NoPipeline>());
}

}  // namespace migsbyu::app
