"""Sampler and schedule names of AUTOMATIC1111, ComfyUI, Fooocus, InvokeAI and
NovelAI, mapped to a canonical key and to a diffusers scheduler + config overrides.

Everything here is data (dicts); the functions only look names up and merge
two table rows. Dump the whole table as JSON with::

    python -m aigif.importers.samplers > /tmp/samplers.json

Model
-----
A tool's "sampler" is two independent choices:

* the **solver** (``SAMPLERS``): the update rule (Euler, DPM++ 2M, ...), and
* the **schedule** (``SCHEDULES``): which sigmas / timesteps the steps visit
  (k-diffusion's uniform "normal" discretisation, Karras, exponential, ...).

A resolved pair gives ``(diffusers class, config overrides)``. The overrides
are applied on top of the model's own scheduler config, i.e.
``Class.from_config(pipe.scheduler.config, **overrides)`` (SPEC.md §12.3),
which supplies the beta schedule and prediction type. For that reason the
k-diffusion default schedule ("normal") states ``timestep_spacing:
"linspace"`` explicitly: SD 1.x and SDXL ship ``"leading"`` with
``steps_offset: 1``, which visits different timesteps than A1111 / ComfyUI.

Status of an entry
------------------
``mapped``
    diffusers implements the same update rule and the config reproduces the
    same schedule; results differ by the noise source (ancestral / SDE noise
    is drawn from diffusers' generator, not the tool's RNG) and floating
    point only.
``approximate``
    same family with a known algorithmic difference (solver order or
    variant, integer vs fractional timesteps, first/last step handling).
    The ``notes`` say what differs.
``unmapped``
    no diffusers equivalent (``diffusers`` is None); ``fallback`` names the
    nearest scheduler where one exists.

The class names and config keys were checked against diffusers 0.42.1 (the
version pinned by the project; ``tests/test_importers.py`` re-checks them
against the installed diffusers when it is importable).

A1111 "Automatic" schedule
--------------------------
Since A1111 1.9 the sampler and the schedule are separate infotext fields
("Sampler: DPM++ 2M, Schedule type: Karras"), and "Automatic" means the
sampler's *own default*, which for several samplers is not uniform (DPM++ 2M
-> Karras, DPM++ 2M SDE -> Exponential). Older infotexts have no "Schedule
type" and encode the schedule in the sampler name ("DPM++ 2M Karras");
there a bare "DPM++ 2M" meant the uniform schedule. :func:`resolve_a1111`
follows both conventions.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

DIFFUSERS_VERSION_CHECKED = "0.42.1"

MAPPED, APPROXIMATE, UNMAPPED = "mapped", "approximate", "unmapped"
_STATUS_RANK = {MAPPED: 0, APPROXIMATE: 1, UNMAPPED: 2}

_NOISE_NOTE = "stochastic: per-step noise comes from diffusers' generator, not the tool's RNG"

# ------------------------------------------------------------------ diffusers classes
#: The schedule-related config keys each diffusers scheduler class accepts
#: (diffusers 0.42.1). A schedule can be combined with a solver only when all
#: of the schedule's override keys are accepted by the solver's class.
DIFFUSERS_CLASS_KEYS: dict[str, list[str]] = {
    "EulerDiscreteScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                               "timestep_spacing", "steps_offset", "interpolation_type", "final_sigmas_type"],
    "EulerAncestralDiscreteScheduler": ["timestep_spacing", "steps_offset"],
    "HeunDiscreteScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                              "timestep_spacing", "steps_offset"],
    "KDPM2DiscreteScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                               "timestep_spacing", "steps_offset"],
    "KDPM2AncestralDiscreteScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                        "timestep_spacing", "steps_offset"],
    "LMSDiscreteScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                             "timestep_spacing", "steps_offset"],
    "DPMSolverMultistepScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                    "use_lu_lambdas", "timestep_spacing", "steps_offset", "algorithm_type",
                                    "solver_order", "solver_type", "final_sigmas_type", "euler_at_final",
                                    "lower_order_final"],
    "DPMSolverSinglestepScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                     "algorithm_type", "solver_order", "solver_type", "final_sigmas_type",
                                     "lower_order_final"],
    "DPMSolverSDEScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                              "timestep_spacing", "steps_offset", "noise_sampler_seed"],
    "DDIMScheduler": ["timestep_spacing", "steps_offset", "set_alpha_to_one", "clip_sample"],
    "PNDMScheduler": ["timestep_spacing", "steps_offset", "skip_prk_steps", "set_alpha_to_one"],
    "UniPCMultistepScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                "timestep_spacing", "steps_offset", "solver_order", "solver_type",
                                "lower_order_final", "final_sigmas_type"],
    "LCMScheduler": ["timestep_spacing", "steps_offset", "original_inference_steps"],
    "TCDScheduler": ["timestep_spacing", "steps_offset", "original_inference_steps"],
    "DDPMScheduler": ["timestep_spacing", "steps_offset"],
    "DEISMultistepScheduler": ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                               "timestep_spacing", "steps_offset", "solver_order"],
}

# ------------------------------------------------------------------ solvers
#: Canonical solvers. ``natural_schedule``: the schedule the solver is
#: normally paired with; the combined key of that pair is the bare solver key.
SAMPLERS: dict[str, dict] = {
    "euler": {"name": "Euler", "diffusers": "EulerDiscreteScheduler", "config": {}, "status": MAPPED,
              "natural_schedule": "normal", "notes": []},
    "euler-a": {"name": "Euler ancestral", "diffusers": "EulerAncestralDiscreteScheduler", "config": {},
                "status": MAPPED, "natural_schedule": "normal", "notes": [_NOISE_NOTE]},
    "heun": {"name": "Heun", "diffusers": "HeunDiscreteScheduler", "config": {}, "status": MAPPED,
             "natural_schedule": "normal", "notes": []},
    "dpm2": {"name": "DPM2", "diffusers": "KDPM2DiscreteScheduler", "config": {}, "status": APPROXIMATE,
             "natural_schedule": "normal",
             "notes": ["A1111 and ComfyUI discard the next-to-last sigma for DPM2 (one extra step is computed "
                       "and dropped); KDPM2DiscreteScheduler does not"]},
    "dpm2-a": {"name": "DPM2 ancestral", "diffusers": "KDPM2AncestralDiscreteScheduler", "config": {},
               "status": APPROXIMATE, "natural_schedule": "normal",
               "notes": ["A1111 and ComfyUI discard the next-to-last sigma for DPM2 a", _NOISE_NOTE]},
    "lms": {"name": "LMS", "diffusers": "LMSDiscreteScheduler", "config": {}, "status": MAPPED,
            "natural_schedule": "normal", "notes": ["k-diffusion and diffusers both use order 4"]},
    "dpm-fast": {"name": "DPM fast", "diffusers": None, "config": {}, "status": UNMAPPED,
                 "natural_schedule": "normal", "notes": ["DPM-Solver 'fast' (adaptive-order) has no diffusers class"]},
    "dpm-adaptive": {"name": "DPM adaptive", "diffusers": None, "config": {}, "status": UNMAPPED,
                     "natural_schedule": "normal",
                     "notes": ["adaptive step-size DPM-Solver ignores the step count; no diffusers class"]},
    "dpmpp-2s-a": {"name": "DPM++ 2S ancestral", "diffusers": None, "config": {}, "status": UNMAPPED,
                   "natural_schedule": "normal",
                   "fallback": ["DPMSolverSinglestepScheduler", {"solver_order": 2, "algorithm_type": "dpmsolver++"}],
                   "notes": ["diffusers has no ancestral single-step DPM-Solver++; the fallback is deterministic"]},
    "dpmpp-sde": {"name": "DPM++ SDE", "diffusers": "DPMSolverSDEScheduler", "config": {}, "status": MAPPED,
                  "natural_schedule": "normal",
                  "notes": ["needs the torchsde package", "Brownian-tree noise is seeded from noise_sampler_seed, "
                            "not from the tool's seed"]},
    "dpmpp-2m": {"name": "DPM++ 2M", "diffusers": "DPMSolverMultistepScheduler",
                 "config": {"algorithm_type": "dpmsolver++", "solver_order": 2}, "status": MAPPED,
                 "natural_schedule": "normal", "notes": []},
    "dpmpp-2m-sde": {"name": "DPM++ 2M SDE", "diffusers": "DPMSolverMultistepScheduler",
                     "config": {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "solver_type": "midpoint"},
                     "status": MAPPED, "natural_schedule": "normal",
                     "notes": [_NOISE_NOTE + " (k-diffusion uses a Brownian tree)"]},
    "dpmpp-2m-sde-heun": {"name": "DPM++ 2M SDE Heun", "diffusers": "DPMSolverMultistepScheduler",
                          "config": {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "solver_type": "heun"},
                          "status": MAPPED, "natural_schedule": "normal",
                          "notes": [_NOISE_NOTE + " (k-diffusion uses a Brownian tree)"]},
    "dpmpp-3m-sde": {"name": "DPM++ 3M SDE", "diffusers": "DPMSolverMultistepScheduler",
                     "config": {"algorithm_type": "sde-dpmsolver++", "solver_order": 3},
                     "status": APPROXIMATE, "natural_schedule": "normal",
                     "notes": ["third-order SDE step formulas of k-diffusion and diffusers are derived separately",
                               "A1111 discards the next-to-last sigma for DPM++ 3M SDE", _NOISE_NOTE]},
    "ddim": {"name": "DDIM", "diffusers": "DDIMScheduler", "config": {"set_alpha_to_one": False},
             "status": MAPPED, "natural_schedule": "leading",
             "notes": ["eta 0 (A1111 writes 'Eta DDIM' when it is not)"]},
    "plms": {"name": "PLMS", "diffusers": "PNDMScheduler", "config": {"skip_prk_steps": True},
             "status": APPROXIMATE, "natural_schedule": "leading",
             "notes": ["PLMS warm-up steps of the LDM sampler differ from PNDM with skip_prk_steps"]},
    "unipc": {"name": "UniPC (bh1)", "diffusers": "UniPCMultistepScheduler",
              "config": {"solver_type": "bh1", "solver_order": 3}, "status": APPROXIMATE,
              "natural_schedule": "normal",
              "notes": ["A1111 defaults: variant bh1, order 3, time-uniform skip (settings, not in the infotext)",
                        "ComfyUI uni_pc discards the next-to-last sigma"]},
    "unipc-bh2": {"name": "UniPC (bh2)", "diffusers": "UniPCMultistepScheduler",
                  "config": {"solver_type": "bh2", "solver_order": 3}, "status": APPROXIMATE,
                  "natural_schedule": "normal", "notes": ["ComfyUI uni_pc_bh2 discards the next-to-last sigma"]},
    "lcm": {"name": "LCM", "diffusers": "LCMScheduler", "config": {}, "status": APPROXIMATE,
            "natural_schedule": "normal",
            "notes": ["A1111/ComfyUI LCM run on the chosen sigma schedule; LCMScheduler picks timesteps from "
                      "original_inference_steps", _NOISE_NOTE]},
    "tcd": {"name": "TCD", "diffusers": "TCDScheduler", "config": {}, "status": APPROXIMATE,
            "natural_schedule": "normal", "notes": ["gamma/eta defaults differ between tools", _NOISE_NOTE]},
    "ddpm": {"name": "DDPM", "diffusers": "DDPMScheduler", "config": {}, "status": APPROXIMATE,
             "natural_schedule": "normal", "notes": ["ComfyUI's ddpm runs in sigma space", _NOISE_NOTE]},
    "deis": {"name": "DEIS", "diffusers": "DEISMultistepScheduler", "config": {"solver_order": 3},
             "status": APPROXIMATE, "natural_schedule": "normal",
             "notes": ["ComfyUI deis: max order 3, 'tab' coefficients"]},
    "restart": {"name": "Restart", "diffusers": None, "config": {}, "status": UNMAPPED, "natural_schedule": "karras",
                "notes": ["Restart sampling (re-noising segments) has no diffusers class"]},
    "heunpp2": {"name": "Heun++ 2", "diffusers": None, "config": {}, "status": UNMAPPED, "natural_schedule": "normal",
                "fallback": ["HeunDiscreteScheduler", {}], "notes": []},
    "ipndm": {"name": "iPNDM", "diffusers": None, "config": {}, "status": UNMAPPED, "natural_schedule": "normal",
              "notes": ["diffusers' IPNDMScheduler targets VE score models, not SD"]},
    "ipndm-v": {"name": "iPNDM (variable step)", "diffusers": None, "config": {}, "status": UNMAPPED,
                "natural_schedule": "normal", "notes": []},
    "euler-cfgpp": {"name": "Euler CFG++", "diffusers": None, "config": {}, "status": UNMAPPED,
                    "natural_schedule": "normal", "notes": ["CFG++ changes the guidance formula"]},
    "euler-a-cfgpp": {"name": "Euler ancestral CFG++", "diffusers": None, "config": {}, "status": UNMAPPED,
                      "natural_schedule": "normal", "notes": ["CFG++ changes the guidance formula"]},
    "dpmpp-2m-cfgpp": {"name": "DPM++ 2M CFG++", "diffusers": None, "config": {}, "status": UNMAPPED,
                       "natural_schedule": "normal", "notes": ["CFG++ changes the guidance formula"]},
    "dpmpp-2s-a-cfgpp": {"name": "DPM++ 2S ancestral CFG++", "diffusers": None, "config": {}, "status": UNMAPPED,
                         "natural_schedule": "normal", "notes": ["CFG++ changes the guidance formula"]},
    "ddim-cfgpp": {"name": "DDIM CFG++", "diffusers": None, "config": {}, "status": UNMAPPED,
                   "natural_schedule": "leading", "notes": ["CFG++ changes the guidance formula"]},
    "res-multistep": {"name": "RES multistep", "diffusers": None, "config": {}, "status": UNMAPPED,
                      "natural_schedule": "normal", "notes": []},
    "gradient-estimation": {"name": "Gradient estimation", "diffusers": None, "config": {}, "status": UNMAPPED,
                            "natural_schedule": "normal", "notes": []},
    "er-sde": {"name": "ER-SDE", "diffusers": None, "config": {}, "status": UNMAPPED,
               "natural_schedule": "normal", "notes": []},
    "seeds": {"name": "SEEDS", "diffusers": None, "config": {}, "status": UNMAPPED, "natural_schedule": "normal",
              "notes": []},
    "sa-solver": {"name": "SA-Solver", "diffusers": None, "config": {}, "status": UNMAPPED,
                  "natural_schedule": "normal", "fallback": ["SASolverScheduler", {}],
                  "notes": ["ComfyUI's predictor/corrector orders and tau differ from SASolverScheduler defaults"]},
    "fooocus-2m-sde-inpaint-seamless": {"name": "Fooocus 2M SDE inpaint seamless", "diffusers": None, "config": {},
                                        "status": UNMAPPED, "natural_schedule": "karras", "notes": []},
}

# ------------------------------------------------------------------ schedules
SCHEDULES: dict[str, dict] = {
    "normal": {"name": "Normal / Uniform (k-diffusion default)", "config": {"timestep_spacing": "linspace"},
               "status": MAPPED,
               "notes": ["k-diffusion interpolates log-sigma at fractional timesteps, diffusers interpolates sigma "
                         "linearly: sub-percent differences in intermediate sigmas"]},
    "default": {"name": "The model's own scheduler config", "config": {}, "status": MAPPED,
                "notes": ["InvokeAI uses diffusers schedulers with the model's shipped config"]},
    "default-karras": {"name": "The model's own scheduler config + Karras sigmas",
                       "config": {"use_karras_sigmas": True}, "status": MAPPED,
                       "notes": ["InvokeAI's '_k' schedulers: the model config (timestep spacing included) + Karras"]},
    "leading": {"name": "Leading, offset 1 (LDM 'uniform' DDIM discretisation)",
                "config": {"timestep_spacing": "leading", "steps_offset": 1}, "status": MAPPED, "notes": []},
    # Euler, Heun, KDPM2(a), LMS and DPMSolverSDE take sigma_min/sigma_max for Karras/exponential/beta
    # from the sigmas *at the spaced timesteps*: only "linspace" spans sigma(999)..sigma(0) like
    # k-diffusion. With the SD configs' "leading" + offset 1, 20 steps would start at sigma(951).
    "karras": {"name": "Karras", "config": {"use_karras_sigmas": True, "timestep_spacing": "linspace"},
               "status": MAPPED, "notes": ["rho 7"]},
    "exponential": {"name": "Exponential", "config": {"use_exponential_sigmas": True, "timestep_spacing": "linspace"},
                    "status": MAPPED, "notes": []},
    "beta": {"name": "Beta (sigma space, A1111)", "config": {"use_beta_sigmas": True, "timestep_spacing": "linspace"},
             "status": MAPPED,
             "notes": ["alpha = beta = 0.6 (A1111 settings 'beta_dist_alpha/beta', not in the infotext)"]},
    "beta-timestep": {"name": "Beta (timestep space, ComfyUI)",
                      "config": {"use_beta_sigmas": True, "timestep_spacing": "linspace"},
                      "status": APPROXIMATE,
                      "notes": ["ComfyUI places the beta quantiles on integer timesteps, diffusers interpolates "
                                "them in sigma space"]},
    "sgm-uniform": {"name": "SGM Uniform", "config": {"timestep_spacing": "trailing"}, "status": APPROXIMATE,
                    "notes": ["continuous vs integer trailing timesteps"]},
    "simple": {"name": "Simple", "config": {"timestep_spacing": "trailing"}, "status": APPROXIMATE,
               "notes": ["ComfyUI floors x*1000/steps, diffusers 'trailing' rounds: timesteps differ by one when "
                         "1000/steps is not an integer"]},
    "ddim-uniform": {"name": "DDIM uniform", "config": {"timestep_spacing": "leading", "steps_offset": 1},
                     "status": APPROXIMATE,
                     "notes": ["ComfyUI can produce steps+1 sigmas when 1000/steps is not an integer"]},
    "polyexponential": {"name": "Polyexponential", "config": None, "status": UNMAPPED, "notes": []},
    "kl-optimal": {"name": "KL Optimal", "config": None, "status": UNMAPPED, "notes": []},
    "align-your-steps": {"name": "Align Your Steps", "config": None, "status": UNMAPPED,
                         "notes": ["fixed per-model sigma tables, log-linearly interpolated"]},
    "align-your-steps-gits": {"name": "Align Your Steps GITS", "config": None, "status": UNMAPPED, "notes": []},
    "linear-quadratic": {"name": "Linear quadratic", "config": None, "status": UNMAPPED, "notes": []},
    "turbo": {"name": "Turbo (SDTurboScheduler)", "config": None, "status": UNMAPPED, "notes": []},
    "lcm": {"name": "LCM schedule (Fooocus)", "config": None, "status": UNMAPPED, "notes": []},
    "edm-playground-v2.5": {"name": "EDM Playground v2.5", "config": None, "status": UNMAPPED, "notes": []},
    "tcd": {"name": "TCD schedule (Fooocus)", "config": None, "status": UNMAPPED, "notes": []},
}

# ------------------------------------------------------------------ AUTOMATIC1111 / Forge
#: A1111 sampler label -> solver, the schedule "Automatic" means since 1.9
#: (``auto``), the schedule a bare name meant before 1.9 (``legacy``, default
#: "normal"), and ``own``: a fixed discretisation for the timestep-based
#: samplers that ignore the schedule type.
A1111_SAMPLERS: dict[str, dict] = {
    "Euler a": {"sampler": "euler-a", "auto": "normal"},
    "Euler": {"sampler": "euler", "auto": "normal"},
    "LMS": {"sampler": "lms", "auto": "normal"},
    "Heun": {"sampler": "heun", "auto": "normal"},
    "DPM2": {"sampler": "dpm2", "auto": "karras"},
    "DPM2 a": {"sampler": "dpm2-a", "auto": "karras"},
    "DPM++ 2S a": {"sampler": "dpmpp-2s-a", "auto": "karras"},
    "DPM++ 2M": {"sampler": "dpmpp-2m", "auto": "karras"},
    "DPM++ SDE": {"sampler": "dpmpp-sde", "auto": "karras"},
    "DPM++ 2M SDE": {"sampler": "dpmpp-2m-sde", "auto": "exponential"},
    "DPM++ 2M SDE Heun": {"sampler": "dpmpp-2m-sde-heun", "auto": "exponential"},
    "DPM++ 3M SDE": {"sampler": "dpmpp-3m-sde", "auto": "exponential"},
    "DPM fast": {"sampler": "dpm-fast", "auto": "normal"},
    "DPM adaptive": {"sampler": "dpm-adaptive", "auto": "normal"},
    "Restart": {"sampler": "restart", "auto": "karras", "legacy": "karras"},
    "LCM": {"sampler": "lcm", "auto": "normal"},
    "Heun PP2": {"sampler": "heunpp2", "auto": "normal"},
    "DDPM": {"sampler": "ddpm", "auto": "normal"},
    "DDIM": {"sampler": "ddim", "auto": "leading", "own": "leading"},
    "DDIM CFG++": {"sampler": "ddim-cfgpp", "auto": "leading", "own": "leading"},
    "PLMS": {"sampler": "plms", "auto": "leading", "own": "leading"},
    "UniPC": {"sampler": "unipc", "auto": "normal", "own": "normal"},
}
#: Old A1111 sampler aliases (``k_*`` names accepted in the API and old infotexts).
A1111_SAMPLER_ALIASES: dict[str, str] = {
    "k_euler_a": "Euler a", "k_euler_ancestral": "Euler a", "k_euler": "Euler", "k_lms": "LMS",
    "k_heun": "Heun", "k_dpm_2": "DPM2", "k_dpm_2_a": "DPM2 a", "k_dpmpp_2s_a": "DPM++ 2S a",
    "k_dpmpp_2m": "DPM++ 2M", "k_dpmpp_sde": "DPM++ SDE", "k_dpmpp_2m_sde": "DPM++ 2M SDE",
    "k_dpmpp_2m_sde_heun": "DPM++ 2M SDE Heun", "k_dpmpp_3m_sde": "DPM++ 3M SDE", "k_dpm_fast": "DPM fast",
    "k_dpm_ad": "DPM adaptive", "restart": "Restart", "k_lcm": "LCM", "ddim": "DDIM", "plms": "PLMS",
    "unipc": "UniPC",
}
#: A1111 schedule type label, name and alias -> schedule. "Automatic" is resolved per sampler.
A1111_SCHEDULE_TYPES: dict[str, str | None] = {
    "Automatic": None, "automatic": None,
    "Uniform": "normal", "uniform": "normal",
    "Karras": "karras", "karras": "karras",
    "Exponential": "exponential", "exponential": "exponential",
    "Polyexponential": "polyexponential", "polyexponential": "polyexponential",
    "SGM Uniform": "sgm-uniform", "sgm_uniform": "sgm-uniform", "SGMUniform": "sgm-uniform",
    "KL Optimal": "kl-optimal", "kl_optimal": "kl-optimal",
    "Align Your Steps": "align-your-steps", "align_your_steps": "align-your-steps",
    "Align Your Steps GITS": "align-your-steps-gits", "Align Your Steps 11": "align-your-steps",
    "Align Your Steps 32": "align-your-steps",
    "Simple": "simple", "simple": "simple",
    "Normal": "normal", "normal": "normal",
    "DDIM": "ddim-uniform", "ddim": "ddim-uniform",
    "Beta": "beta", "beta": "beta",
    "Turbo": "turbo", "turbo": "turbo",
}

# ------------------------------------------------------------------ ComfyUI (and Fooocus, which embeds ComfyUI)
COMFYUI_SAMPLERS: dict[str, str] = {
    "euler": "euler", "euler_cfg_pp": "euler-cfgpp", "euler_ancestral": "euler-a",
    "euler_ancestral_cfg_pp": "euler-a-cfgpp", "heun": "heun", "heunpp2": "heunpp2", "dpm_2": "dpm2",
    "dpm_2_ancestral": "dpm2-a", "lms": "lms", "dpm_fast": "dpm-fast", "dpm_adaptive": "dpm-adaptive",
    "dpmpp_2s_ancestral": "dpmpp-2s-a", "dpmpp_2s_ancestral_cfg_pp": "dpmpp-2s-a-cfgpp", "dpmpp_sde": "dpmpp-sde",
    "dpmpp_sde_gpu": "dpmpp-sde", "dpmpp_2m": "dpmpp-2m", "dpmpp_2m_cfg_pp": "dpmpp-2m-cfgpp",
    "dpmpp_2m_sde": "dpmpp-2m-sde", "dpmpp_2m_sde_gpu": "dpmpp-2m-sde", "dpmpp_2m_sde_heun": "dpmpp-2m-sde-heun",
    "dpmpp_2m_sde_heun_gpu": "dpmpp-2m-sde-heun", "dpmpp_3m_sde": "dpmpp-3m-sde", "dpmpp_3m_sde_gpu": "dpmpp-3m-sde",
    "ddpm": "ddpm", "lcm": "lcm", "tcd": "tcd", "ipndm": "ipndm", "ipndm_v": "ipndm-v", "deis": "deis",
    "res_multistep": "res-multistep", "res_multistep_cfg_pp": "res-multistep",
    "res_multistep_ancestral": "res-multistep", "res_multistep_ancestral_cfg_pp": "res-multistep",
    "gradient_estimation": "gradient-estimation", "gradient_estimation_cfg_pp": "gradient-estimation",
    "er_sde": "er-sde", "seeds_2": "seeds", "seeds_3": "seeds", "sa_solver": "sa-solver",
    "sa_solver_pece": "sa-solver",
    # ComfyUI implements "ddim" as Euler (DDIM with eta 0 is Euler in sigma space).
    "ddim": "euler",
    "uni_pc": "unipc", "uni_pc_bh2": "unipc-bh2",
    # Fooocus additions
    "dpmpp_fooocus_2m_sde_inpaint_seamless": "fooocus-2m-sde-inpaint-seamless",
}
COMFYUI_SCHEDULERS: dict[str, str] = {
    "normal": "normal", "karras": "karras", "exponential": "exponential", "sgm_uniform": "sgm-uniform",
    "simple": "simple", "ddim_uniform": "ddim-uniform", "beta": "beta-timestep",
    "linear_quadratic": "linear-quadratic", "kl_optimal": "kl-optimal",
    # Fooocus additions
    "lcm": "lcm", "turbo": "turbo", "align_your_steps": "align-your-steps", "tcd": "tcd",
    "edm_playground_v2.5": "edm-playground-v2.5",
}
#: Early ComfyUI (spring 2023) wrote k-diffusion function names: "sample_dpmpp_2m".
COMFYUI_LEGACY_PREFIX = "sample_"

# ------------------------------------------------------------------ InvokeAI
#: InvokeAI >= 3 schedulers are diffusers classes with the model's own config
#: (+ Karras for the "_k" names): (solver, schedule).
INVOKEAI_SCHEDULERS: dict[str, list[str]] = {
    "ddim": ["ddim", "default"], "ddpm": ["ddpm", "default"], "deis": ["deis-o2", "default"],
    "deis_k": ["deis-o2", "default-karras"], "lms": ["lms", "default"], "lms_k": ["lms", "default-karras"],
    "pndm": ["pndm", "default"], "heun": ["heun", "default"], "heun_k": ["heun", "default-karras"],
    "euler": ["euler", "default"], "euler_k": ["euler", "default-karras"], "euler_a": ["euler-a", "default"],
    "kdpm_2": ["dpm2", "default"], "kdpm_2_k": ["dpm2", "default-karras"], "kdpm_2_a": ["dpm2-a", "default"],
    "kdpm_2_a_k": ["dpm2-a", "default-karras"], "dpmpp_2s": ["dpmpp-2s", "default"],
    "dpmpp_2s_k": ["dpmpp-2s", "default-karras"], "dpmpp_2m": ["dpmpp-2m", "default"],
    "dpmpp_2m_k": ["dpmpp-2m", "default-karras"], "dpmpp_2m_sde": ["dpmpp-2m-sde", "default"],
    "dpmpp_2m_sde_k": ["dpmpp-2m-sde", "default-karras"], "dpmpp_3m": ["dpmpp-3m", "default"],
    "dpmpp_3m_k": ["dpmpp-3m", "default-karras"], "dpmpp_sde": ["dpmpp-sde", "default"],
    "dpmpp_sde_k": ["dpmpp-sde", "default-karras"], "unipc": ["unipc-bh2-o2", "default"],
    "unipc_k": ["unipc-bh2-o2", "default-karras"], "lcm": ["lcm", "default"], "tcd": ["tcd", "default"],
}
#: InvokeAI 1.x/2.x ("Dream", "sd-metadata") ran k-diffusion samplers.
INVOKEAI_LEGACY_SAMPLERS: dict[str, list[str]] = {
    "k_lms": ["lms", "normal"], "k_euler": ["euler", "normal"], "k_euler_a": ["euler-a", "normal"],
    "k_dpm_2": ["dpm2", "normal"], "k_dpm_2_a": ["dpm2-a", "normal"], "k_heun": ["heun", "normal"],
    "k_dpmpp_2": ["dpmpp-2m", "normal"], "k_dpmpp_2_a": ["dpmpp-2s-a", "normal"], "ddim": ["ddim", "leading"],
    "plms": ["plms", "leading"],
}
# Solvers only InvokeAI names (diffusers classes with their default config).
SAMPLERS.update({
    "dpmpp-2s": {"name": "DPM++ 2S (single-step, deterministic)", "diffusers": "DPMSolverSinglestepScheduler",
                 "config": {}, "status": MAPPED, "natural_schedule": "default", "notes": []},
    "deis-o2": {"name": "DEIS (diffusers defaults: order 2)", "diffusers": "DEISMultistepScheduler", "config": {},
                "status": MAPPED, "natural_schedule": "default", "notes": []},
    "pndm": {"name": "PNDM (model config)", "diffusers": "PNDMScheduler", "config": {}, "status": MAPPED,
             "natural_schedule": "default", "notes": []},
    "dpmpp-3m": {"name": "DPM++ 3M", "diffusers": "DPMSolverMultistepScheduler",
                 "config": {"algorithm_type": "dpmsolver++", "solver_order": 3}, "status": MAPPED,
                 "natural_schedule": "default", "notes": []},
    "unipc-bh2-o2": {"name": "UniPC (diffusers defaults: bh2, order 2)", "diffusers": "UniPCMultistepScheduler",
                     "config": {}, "status": MAPPED, "natural_schedule": "default", "notes": []},
})

# ------------------------------------------------------------------ NovelAI
NOVELAI_SAMPLERS: dict[str, str] = {
    "k_euler_ancestral": "euler-a", "k_euler": "euler", "k_lms": "lms", "k_heun": "heun", "k_dpm_2": "dpm2",
    "k_dpm_2_ancestral": "dpm2-a", "k_dpmpp_2s_ancestral": "dpmpp-2s-a", "k_dpmpp_2m": "dpmpp-2m",
    "k_dpmpp_sde": "dpmpp-sde", "k_dpmpp_2m_sde": "dpmpp-2m-sde", "k_dpm_fast": "dpm-fast",
    "k_dpm_adaptive": "dpm-adaptive", "ddim": "ddim", "ddim_v3": "ddim", "plms": "plms",
}
#: NovelAI "noise_schedule"; absent in older images, which used "native".
NOVELAI_SCHEDULES: dict[str, str] = {
    "native": "normal", "karras": "karras", "exponential": "exponential", "polyexponential": "polyexponential",
}


# ------------------------------------------------------------------ resolution
class UnknownSamplerName(KeyError):
    """A sampler or schedule name that is in none of the tables."""


@dataclass
class Resolution:
    key: str                       # canonical pair key, e.g. "dpmpp-2m-karras"
    sampler: str                   # canonical solver key
    schedule: str                  # canonical schedule key
    diffusers: str | None          # diffusers scheduler class, None when unmapped
    config: dict = field(default_factory=dict)
    status: str = MAPPED
    notes: list[str] = field(default_factory=list)
    fallback: list | None = None

    def to_diffusers(self) -> tuple[str | None, dict]:
        return (self.diffusers, dict(self.config)) if self.diffusers else (None, {})


def combine(sampler_key: str, schedule_key: str, notes: list[str] | None = None) -> Resolution:
    """Merge a solver row and a schedule row into a Resolution."""
    s = SAMPLERS[sampler_key]
    sch = SCHEDULES[schedule_key]
    key = sampler_key if schedule_key == s["natural_schedule"] else f"{sampler_key}-{schedule_key}"
    out = Resolution(key=key, sampler=sampler_key, schedule=schedule_key, diffusers=s["diffusers"],
                     notes=list(notes or []) + list(s["notes"]) + list(sch["notes"]),
                     fallback=s.get("fallback"))
    status = max(s["status"], sch["status"], key=_STATUS_RANK.__getitem__)
    if s["diffusers"] is None or sch["config"] is None:
        if sch["config"] is None:
            out.notes.append(f"schedule '{sch['name']}' has no diffusers equivalent")
        out.diffusers, out.status = None, UNMAPPED
        return out
    accepted = set(DIFFUSERS_CLASS_KEYS[s["diffusers"]])
    missing = sorted(set(sch["config"]) - accepted)
    if missing:
        out.notes.append(f"{s['diffusers']} has no {', '.join(missing)} (schedule '{sch['name']}')")
        out.diffusers, out.status = None, UNMAPPED
        return out
    out.config = {**s["config"], **sch["config"]}
    out.status = status
    return out


def _schedule_lookup(name: str) -> str | None:
    if name in A1111_SCHEDULE_TYPES:
        return A1111_SCHEDULE_TYPES[name]
    low = {k.lower(): v for k, v in A1111_SCHEDULE_TYPES.items()}
    if name.lower() in low:
        return low[name.lower()]
    raise UnknownSamplerName(f"unknown A1111 schedule type {name!r}")


def split_a1111_sampler(name: str) -> tuple[str, str | None]:
    """'DPM++ 2M Karras' -> ('DPM++ 2M', 'Karras'); names without a schedule suffix pass through."""
    name = A1111_SAMPLER_ALIASES.get(name, name)
    if name in A1111_SAMPLERS:
        return name, None
    for label in sorted(A1111_SCHEDULE_TYPES, key=len, reverse=True):
        if name.endswith(" " + label):
            base = A1111_SAMPLER_ALIASES.get(name[: -len(label) - 1], name[: -len(label) - 1])
            if base in A1111_SAMPLERS:
                return base, label
    raise UnknownSamplerName(f"unknown A1111 sampler {name!r}")


def resolve_a1111(sampler: str, schedule_type: str | None = None) -> Resolution:
    """Resolve an A1111/Forge "Sampler" (+ "Schedule type", None when the infotext has none)."""
    base, suffix = split_a1111_sampler(sampler)
    row = A1111_SAMPLERS[base]
    notes: list[str] = []
    if "own" in row:
        schedule = row["own"]
        if suffix or (schedule_type and _schedule_lookup(schedule_type) is not None):
            notes.append(f"A1111 ignores the schedule type for {base}")
    elif suffix:
        schedule = _schedule_lookup(suffix) or row["auto"]
        notes.append(f"legacy combined sampler name {sampler!r}")
    elif schedule_type is None:
        schedule = row.get("legacy", "normal")
        notes.append(f"no 'Schedule type' (A1111 < 1.9): bare {base!r} means the {SCHEDULES[schedule]['name']} schedule")
    else:
        looked = _schedule_lookup(schedule_type)
        schedule = row["auto"] if looked is None else looked
        if looked is None:
            notes.append(f"'Automatic' means {SCHEDULES[schedule]['name']} for {base} (A1111 >= 1.9)")
    return combine(row["sampler"], schedule, notes)


def resolve_comfyui(sampler_name: str, scheduler: str | None = "normal") -> Resolution:
    """Resolve a ComfyUI (or Fooocus) (sampler_name, scheduler) pair."""
    notes: list[str] = []
    name = sampler_name
    if name not in COMFYUI_SAMPLERS and name.startswith(COMFYUI_LEGACY_PREFIX):
        name = name[len(COMFYUI_LEGACY_PREFIX):]
        notes.append(f"early ComfyUI name {sampler_name!r} read as {name!r}")
    if name not in COMFYUI_SAMPLERS:
        raise UnknownSamplerName(f"unknown ComfyUI sampler {sampler_name!r}")
    if name == "ddim":
        notes.append("ComfyUI runs 'ddim' as Euler")
    sched = scheduler if scheduler is not None else "normal"
    if sched not in COMFYUI_SCHEDULERS:
        raise UnknownSamplerName(f"unknown ComfyUI scheduler {scheduler!r}")
    return combine(COMFYUI_SAMPLERS[name], COMFYUI_SCHEDULERS[sched], notes)


def resolve_invokeai(scheduler: str) -> Resolution:
    if scheduler in INVOKEAI_SCHEDULERS:
        res = combine(*INVOKEAI_SCHEDULERS[scheduler])
        if res.diffusers is not None:
            # InvokeAI >= 3 runs these very diffusers classes: nothing to approximate.
            res.status = MAPPED
            res.notes = ["InvokeAI >= 3 runs this diffusers scheduler itself"]
        return res
    if scheduler in INVOKEAI_LEGACY_SAMPLERS:
        return combine(*INVOKEAI_LEGACY_SAMPLERS[scheduler], notes=["InvokeAI 1.x/2.x k-diffusion sampler"])
    raise UnknownSamplerName(f"unknown InvokeAI scheduler {scheduler!r}")


def resolve_novelai(sampler: str, noise_schedule: str | None = None) -> Resolution:
    if sampler not in NOVELAI_SAMPLERS:
        raise UnknownSamplerName(f"unknown NovelAI sampler {sampler!r}")
    sched = noise_schedule or "native"
    if sched not in NOVELAI_SCHEDULES:
        raise UnknownSamplerName(f"unknown NovelAI noise schedule {noise_schedule!r}")
    notes = [] if noise_schedule else ["no noise_schedule in the metadata: NovelAI's 'native' schedule assumed"]
    return combine(NOVELAI_SAMPLERS[sampler], NOVELAI_SCHEDULES[sched], notes)


_RESOLVERS = {
    "AUTOMATIC1111": lambda s, sch: resolve_a1111(s, sch),
    "Forge": lambda s, sch: resolve_a1111(s, sch),
    "ComfyUI": lambda s, sch: resolve_comfyui(s, sch),
    "Fooocus": lambda s, sch: resolve_comfyui(s, sch),
    "InvokeAI": lambda s, sch: resolve_invokeai(s),
    "NovelAI": lambda s, sch: resolve_novelai(s, sch),
}


def resolve(tool: str, sampler: str, schedule: str | None = None) -> Resolution:
    """Resolve a tool's own sampler (+ schedule) name. Raises UnknownSamplerName."""
    try:
        return _RESOLVERS[tool](sampler, schedule)
    except KeyError as e:
        if isinstance(e, UnknownSamplerName):
            raise
        raise UnknownSamplerName(f"no sampler table for tool {tool!r}") from None


def to_diffusers(tool: str, sampler: str, schedule: str | None = None) -> tuple[str | None, dict]:
    """(diffusers scheduler class name, config overrides); (None, {}) when unmapped."""
    return resolve(tool, sampler, schedule).to_diffusers()


# ------------------------------------------------------------------ JSON dump
def _pairs() -> list[dict]:
    """Every canonical pair the tool tables can produce, with the names that reach it."""
    entries: dict[str, dict] = {}

    def add(res: Resolution, tool: str, name) -> None:
        e = entries.setdefault(res.key, {"key": res.key, "sampler": res.sampler, "schedule": res.schedule,
                                         "class": res.diffusers, "config": res.config, "status": res.status,
                                         "notes": [n for n in res.notes if not n.startswith(("legacy", "no '",
                                                                                            "'Automatic'",
                                                                                            "early", "A1111 ignores",
                                                                                            "ComfyUI runs",
                                                                                            "InvokeAI 1.x",
                                                                                            "no noise_schedule"))],
                                         "fallback": res.fallback,
                                         "a1111": [], "comfyui": [], "invokeai": [], "novelai": []})
        if name not in e[tool]:
            e[tool].append(name)

    for base in A1111_SAMPLERS:
        add(resolve_a1111(base, None), "a1111", [base, None])
        for label in ("Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform",
                      "KL Optimal", "Align Your Steps", "Simple", "Normal", "DDIM", "Beta"):
            add(resolve_a1111(base, label), "a1111", [base, label])
    for s in COMFYUI_SAMPLERS:
        for sch in COMFYUI_SCHEDULERS:
            add(resolve_comfyui(s, sch), "comfyui", [s, sch])
    for s in list(INVOKEAI_SCHEDULERS) + list(INVOKEAI_LEGACY_SAMPLERS):
        add(resolve_invokeai(s), "invokeai", s)
    for s in NOVELAI_SAMPLERS:
        for sch in NOVELAI_SCHEDULES:
            add(resolve_novelai(s, sch), "novelai", [s, sch])
    order = {k: i for i, k in enumerate(SAMPLERS)}
    return sorted(entries.values(), key=lambda e: (order[e["sampler"]], e["key"]))


def as_json() -> dict:
    return {
        "diffusers_version_checked": DIFFUSERS_VERSION_CHECKED,
        "status_meaning": {
            MAPPED: "same update rule and schedule in diffusers; differences come from the noise source and "
                    "floating point only",
            APPROXIMATE: "same family, known algorithmic difference (see notes)",
            UNMAPPED: "no diffusers equivalent (class null); see fallback",
        },
        "config_base": "overrides apply on top of the model's scheduler config: "
                       "Class.from_config(pipe.scheduler.config, **config)",
        "samplers": SAMPLERS,
        "schedules": SCHEDULES,
        "diffusers_class_keys": DIFFUSERS_CLASS_KEYS,
        "tools": {
            "a1111": {"samplers": A1111_SAMPLERS, "aliases": A1111_SAMPLER_ALIASES,
                      "schedule_types": A1111_SCHEDULE_TYPES},
            "comfyui": {"samplers": COMFYUI_SAMPLERS, "schedulers": COMFYUI_SCHEDULERS,
                        "legacy_prefix": COMFYUI_LEGACY_PREFIX},
            "invokeai": {"schedulers": INVOKEAI_SCHEDULERS, "legacy_samplers": INVOKEAI_LEGACY_SAMPLERS},
            "novelai": {"samplers": NOVELAI_SAMPLERS, "noise_schedules": NOVELAI_SCHEDULES},
        },
        "pairs": _pairs(),
    }


def main(argv: list[str] | None = None) -> int:
    json.dump(as_json(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
