--- lurn export CHECKPOINT OUT.safetensors [--prefix P] [--list]
--
-- Writes the model weights of a checkpoint (a training state written by
-- lurn.train, or any safetensors file) as a plain safetensors file whose
-- names are PyTorch state_dict keys. --prefix keeps only the names that
-- start with P and strips it: `--prefix 1.` turns the LSTM at position 1 of
-- an nn.Sequential into the keys of a torch.nn.LSTM ("weight_ih_l0", ...).
-- --list prints the names, shapes and dtypes instead of writing.
-- docs/training.md has the PyTorch side. Exit status: 2 for a usage error
-- (a prefix no weight has), 4 for a checkpoint that cannot be read.
local argparse = require "argparse"
local errors = require "lurn.errors"
local checkpoint = require "lurn.checkpoint"

local M = {}

local function parser()
  local p = argparse("lurn export", "Write a checkpoint's model weights, named like PyTorch's "
    .. "state_dict, as a safetensors file.")
  p:add_help(false)
  p:usage("usage: lurn export CHECKPOINT OUT.safetensors [--prefix P]\n"
    .. "       lurn export CHECKPOINT --list [--prefix P]")
  p:argument("checkpoint", "a lurn checkpoint or a safetensors file"):argname("CHECKPOINT")
  p:argument("out", "the safetensors file to write"):args("?"):argname("OUT.safetensors")
  p:option("--prefix", "keep the names starting with P and strip it (e.g. 1. for the layer at "
    .. "position 1 of an nn.Sequential)"):argname("P")
  p:flag("--list", "print the names, shapes and dtypes instead of writing")
  p:flag("-h --help", "show this help")
  return p
end

function M.help() return parser():get_help() end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn export --help)", o) end
  if (o.list == true) == (o.out ~= nil) then
    errors.raise("usage", "give OUT.safetensors or --list (try lurn export --help)")
  end
  local prefix = o.prefix or ""
  local w = errors.wrap("checkpoint", "", checkpoint.load_weights, o.checkpoint)
  local names = {}
  for name in pairs(w) do
    if name:sub(1, #prefix) == prefix then names[#names + 1] = name end
  end
  table.sort(names)
  if #names == 0 then
    errors.raise("usage", "no weight name starts with '%s'; try lurn export %s --list", prefix,
      o.checkpoint)
  end
  if o.list then
    for _, name in ipairs(names) do
      print(("%-32s %-12s %s"):format(name:sub(#prefix + 1), tostring(w[name]:shape()),
        w[name]:dtype()))
    end
    return 0
  end
  local n = checkpoint.save_weights(o.out, w, { prefix = prefix })
  print(("exported %d tensors to %s"):format(n, o.out))
  return 0
end

return M
