"""The smallest useful agent, used by docs/agent-authors.md#writing-an-agent-with-the-sdk. Run it without a cluster:

    PYTHONPATH=sdk/python:sdk/python/examples python3 -m paddock_agent.run hello:hello --inputs sdk/examples/hello-inputs.json
"""

from paddock_agent import AgentFailure, agent, run_agent


@agent(
    name="hello",
    inputs_schema={
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "shout": {"type": "boolean", "default": False},
            "apiToken": {"type": "string", "x-paddock-sensitive": True},
        },
    },
    outputs_schema={
        "type": "object",
        "required": ["greeting", "length"],
        "properties": {"greeting": {"type": "string", "maxLength": 200}, "length": {"type": "integer", "minimum": 0}},
    },
)
def hello(inputs, ctx):
    # Logged as "[REDACTED]": apiToken is marked sensitive.
    ctx.log.info("greeting", name=inputs["name"], apiToken=inputs.get("apiToken"))
    if inputs["name"] == "nobody":
        raise AgentFailure("there is nobody to greet")
    greeting = f"Hello, {inputs['name']}!"
    text = greeting.upper() if inputs.get("shout", False) else greeting  # schema defaults are applied in code
    return {"greeting": text, "length": len(text)}


if __name__ == "__main__":
    run_agent(hello)
