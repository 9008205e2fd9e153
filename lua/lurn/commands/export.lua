--- lurn export CHECKPOINT OUT.safetensors [--prefix P] [--list]
--
-- Writes the model weights of a checkpoint (a training state written by
-- lurn.train, or any safetensors file) as a plain safetensors file whose
-- names are PyTorch state_dict keys. --prefix keeps only the names that
-- start with P and strips it: `--prefix 1.` turns the LSTM at position 1 of
-- an nn.Sequential into the keys of a torch.nn.LSTM ("weight_ih_l0", ...).
-- --list prints the names, shapes and dtypes instead of writing.
-- docs/training.md has the PyTorch side.
local checkpoint = require "lurn.checkpoint"

local M = {}

local usage = [[
usage: lurn export CHECKPOINT OUT.safetensors [--prefix P]
       lurn export CHECKPOINT --list [--prefix P]
  Writes the checkpoint's model weights, named like PyTorch's state_dict,
  as a safetensors file. --prefix P keeps the names starting with P and
  strips it (e.g. --prefix 1. for the LSTM inside an nn.Sequential).]]

local run

function M.main(args)
  -- a mistake in the arguments or the file is a message, not a traceback
  local ok, rc = pcall(run, args)
  if ok then return rc end
  io.stderr:write("lurn export: ", tostring(rc), "\n")
  return 1
end

function run(args)
  local paths, prefix, list = {}, nil, false
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--prefix" then
      prefix = args[i + 1]
      if not prefix then error("export: --prefix needs a value", 0) end
      i = i + 2
    elseif a:match("^%-%-prefix=") then
      prefix, i = a:sub(10), i + 1
    elseif a == "--list" then
      list, i = true, i + 1
    elseif a == "-h" or a == "--help" then
      print(usage)
      return 0
    elseif a:sub(1, 1) == "-" then
      error(("export: unknown option '%s'"):format(a), 0)
    else
      paths[#paths + 1], i = a, i + 1
    end
  end
  if #paths ~= (list and 1 or 2) then
    io.stderr:write(usage, "\n")
    return 2
  end
  local w = checkpoint.load_weights(paths[1])
  if list then
    local names = {}
    for name in pairs(w) do
      if not prefix or name:sub(1, #prefix) == prefix then names[#names + 1] = name end
    end
    table.sort(names)
    for _, name in ipairs(names) do
      print(("%-32s %-12s %s"):format(name:sub(prefix and #prefix + 1 or 1),
        tostring(w[name]:shape()), w[name]:dtype()))
    end
    return 0
  end
  local names = 0
  for name in pairs(w) do
    if name:sub(1, #(prefix or "")) == (prefix or "") then names = names + 1 end
  end
  if names == 0 then
    error(("no weight name starts with '%s'; try lurn export %s --list"):format(prefix,
      paths[1]), 0)
  end
  local n = checkpoint.save_weights(paths[2], w, { prefix = prefix })
  print(("exported %d tensors to %s"):format(n, paths[2]))
  return 0
end

return M
