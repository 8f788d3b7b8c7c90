from torchrtx.runtime import enable_cudagraphs, runtime_config

with (
    runtime_config([encoder, decoder], dynamic_shapes_kernel_specialization_strategy="none"),
    enable_cudagraphs([encoder, decoder]) as (run_encoder, run_decoder),
):
    hidden = run_encoder(x)  # each wrapper keeps its own graphs
    out = run_decoder(hidden)
